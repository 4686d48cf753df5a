/// `/docs`: a small page that renders `/openapi.json` in the browser — routes, parameters,
/// bodies and responses — with inline script and style only, so it works offline.
enum DocsPage {
    static let html = #"""
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>ResearchStore API</title>
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <style>
        body{font:15px/1.45 system-ui,sans-serif;max-width:62rem;margin:2rem auto;padding:0 1rem;color:#222}
        h1{margin-bottom:.2rem}.op{border:1px solid #ddd;border-radius:6px;margin:.6rem 0;padding:.4rem .8rem}
        .m{display:inline-block;min-width:4.2rem;font-weight:600;font-family:monospace}.get{color:#0a6}.post{color:#06c}
        .patch{color:#a60}.delete{color:#c33}.put{color:#639}code,.p{font-family:monospace}details{margin:.2rem 0}
        pre{background:#f6f6f6;padding:.5rem;overflow:auto;font-size:13px}
        </style></head><body>
        <h1>ResearchStore API</h1><p id="about">Loading /openapi.json…</p><div id="ops"></div>
        <script>
        const esc = s => String(s ?? "").replace(/[&<>"]/g, c => ({"&":"&amp;","<":"&lt;",">":"&gt;","\"":"&quot;"}[c]));
        fetch("/openapi.json").then(r => r.json()).then(doc => {
          document.getElementById("about").innerHTML = esc(doc.info.summary || doc.info.title) +
            " — version " + esc(doc.info.version) + ". Raw: <a href='/openapi.json'>JSON</a>, <a href='/openapi.yaml'>YAML</a>.";
          const resolve = o => o && o.$ref ? o.$ref.split("/").slice(1).reduce((a, k) => a[k], doc) : o;
          let html = "";
          for (const [path, item] of Object.entries(doc.paths)) {
            for (const [method, op] of Object.entries(item)) {
              if (!["get","post","put","patch","delete"].includes(method)) continue;
              const params = (op.parameters || []).map(resolve).map(p =>
                `<li><code>${esc(p.name)}</code> (${esc(p.in)}${p.required ? ", required" : ""}) ${esc(p.description)}</li>`).join("");
              const body = op.requestBody ? `<details><summary>Request body</summary><pre>${esc(JSON.stringify(resolve(op.requestBody), null, 2))}</pre></details>` : "";
              const responses = Object.entries(op.responses || {}).map(([code, r]) =>
                `<li><b>${esc(code)}</b> ${esc(resolve(r).description)}</li>`).join("");
              html += `<div class="op"><span class="m ${method}">${method.toUpperCase()}</span> <span class="p">${esc(path)}</span>
                <div>${esc(op.summary)}</div>${op.description ? `<details><summary>Details</summary><p>${esc(op.description)}</p></details>` : ""}
                ${params ? `<details><summary>Parameters</summary><ul>${params}</ul></details>` : ""}${body}
                <details><summary>Responses</summary><ul>${responses}</ul></details></div>`;
            }
          }
          document.getElementById("ops").innerHTML = html;
        }).catch(e => { document.getElementById("about").textContent = "Could not load /openapi.json: " + e; });
        </script></body></html>
        """#
}
