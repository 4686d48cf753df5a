/// `/docs`: a readable page of `/openapi.json`, rendered in the browser with inline script and style
/// only (nothing is loaded from elsewhere, so it works offline). The script resolves `$ref`s
/// (guarding against cycles), merges `allOf`, and shows for every operation its parameters, request
/// body and each response's headers and body as schema trees, with examples when the document has
/// them. Descriptions get the small Markdown subset the document uses (paragraphs, `-` lists,
/// `code`, **bold**, *italic*, links). The page is built with DOM calls and text nodes only, so no
/// text from the document is ever parsed as HTML. Develop it as a plain file:
/// `scripts/docs-check` renders it in headless Chromium and checks the result.
enum DocsPage {
    static let html = #"""
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>ResearchStore API</title>
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <style>
        body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#222;display:flex}
        nav{position:sticky;top:0;height:100vh;overflow:auto;width:17rem;flex:none;padding:1rem;box-sizing:border-box;background:#f7f7f7;border-right:1px solid #ddd;font-size:13px}
        nav ul{list-style:none;padding-left:.4rem;margin:.2rem 0 .8rem}nav a{color:#246;text-decoration:none}nav a:hover{text-decoration:underline}
        main{max-width:62rem;padding:0 1.5rem 4rem;min-width:0}h1{margin-bottom:.2rem}h2{border-bottom:2px solid #ddd;margin-top:2.5rem}
        h4{margin:.8rem 0 .3rem}.op{border:1px solid #ddd;border-radius:6px;margin:1rem 0;padding:.3rem 1rem .6rem}
        .op>h3{margin:.4rem 0;font-size:16px}.op>h3 a{color:inherit;text-decoration:none}
        .m{display:inline-block;min-width:4.2rem;font-weight:600;font-family:monospace}.get{color:#0a6}.post{color:#06c}
        .patch{color:#a60}.delete{color:#c33}.put{color:#639}code,.p{font-family:monospace}code{background:#f2f2f2;padding:0 .2em;border-radius:3px}
        pre{background:#f6f6f6;padding:.5rem;overflow:auto;font-size:13px}details{margin:.3rem 0}summary{cursor:pointer}
        table{border-collapse:collapse;width:100%;font-size:14px}td,th{border-top:1px solid #eee;padding:.3rem .5rem;text-align:left;vertical-align:top}td:first-child{white-space:nowrap}
        .tree,.tree ul{list-style:none;margin:.2rem 0;padding-left:1.1rem;border-left:1px solid #ddd}.tree{padding-left:.6rem}
        .t{color:#555;font-family:monospace;font-size:13px}.req{color:#c33;font-size:12px;font-weight:600}.c{color:#666;font-size:13px}
        .d p,.d ul{margin:.2rem 0}.muted{color:#777}.tree .d,td .d{font-size:14px;color:#444}.tree .d{margin-left:1rem}
        nav a{display:flex;gap:.3rem}nav .m{min-width:3.4rem;flex:none}
        </style></head><body>
        <nav id="nav"></nav>
        <main><h1 id="title">ResearchStore API</h1><p id="about">Loading /openapi.json…</p><div id="ops"></div></main>
        <script>
        "use strict";
        // Everything is built as DOM nodes; text from the document is only ever set as text, never parsed as HTML.
        function h(tag, attrs, ...kids) {
          const e = document.createElement(tag);
          for (const [k, v] of Object.entries(attrs || {})) if (v != null) e.setAttribute(k, v);
          return put(e, kids);
        }
        function put(e, ...kids) {
          for (const k of kids.flat(9)) if (k != null && k !== false && k !== "") e.append(k instanceof Node ? k : String(k));
          return e;
        }
        // The Markdown the descriptions use: paragraphs, "- " lists, `code`, **bold**, *italic*, [text](url).
        const INLINE = /`([^`]+)`|\*\*(.+?)\*\*|\*(\S(?:[^*]*\S)?)\*|\[([^\]]+)\]\(([^)\s]+)\)/g;
        function inline(text) {
          const out = [];
          let last = 0;
          for (const m of text.matchAll(INLINE)) {
            out.push(text.slice(last, m.index));
            last = m.index + m[0].length;
            if (m[1] != null) out.push(h("code", null, m[1]));
            else if (m[2] != null) out.push(h("strong", null, inline(m[2])));
            else if (m[3] != null) out.push(h("em", null, inline(m[3])));
            else if (/^(https?:|mailto:|#|\/)/i.test(m[5])) out.push(h("a", {href: m[5]}, inline(m[4])));
            else out.push(m[0]);
          }
          out.push(text.slice(last));
          return out;
        }
        function md(text) {
          const box = h("div", {class: "d"});
          let para = null, list = null, item = null;
          for (const line of String(text ?? "").split("\n")) {
            const bullet = /^\s*[-*]\s+(.*)$/.exec(line);
            if (!line.trim()) { para = list = item = null; }
            else if (bullet) {
              para = null;
              if (!list) box.append(list = h("ul"));
              list.append(item = h("li", null, bullet[1]));
            } else if (item && /^\s/.test(line)) item.append("\n" + line.trim());
            else {
              list = item = null;
              if (!para) box.append(para = h("p"));
              else para.append("\n");
              para.append(line.trim());
            }
          }
          // Lines were joined as plain text first so that a `code` span may run across a line break.
          for (const block of box.querySelectorAll("p, li")) block.replaceChildren(...inline(block.textContent));
          return box.childNodes.length ? box : null;
        }

        let doc;
        // A local reference (#/components/…) to the part of the document it names.
        function target(ref) {
          if (typeof ref !== "string" || !ref.startsWith("#/")) return undefined;
          try {
            return ref.slice(2).split("/").map(p => decodeURIComponent(p).replace(/~1/g, "/").replace(/~0/g, "~"))
              .reduce((o, k) => (o != null && typeof o === "object" && Object.hasOwn(o, k) ? o[k] : undefined), doc);
          } catch { return undefined; }
        }
        const refName = ref => ref.split("/").pop();
        // The target of a (possibly referenced) parameter, header, response or request body.
        const node = o => { const r = deref(o); return r.missing ? { description: r.description || "Unresolved reference: " + r.missing } : r.node; };
        // Follows a chain of references; keys next to a reference (a description, say) override the target's.
        // Returns the object with `name` set to the last schema name seen, and `missing` for a dangling reference.
        function deref(o) {
          let name, seen = new Set();
          while (o && typeof o === "object" && typeof o.$ref === "string") {
            const { $ref: ref, ...rest } = o;
            if (seen.has(ref)) return { description: "Circular reference: " + ref, missing: ref };
            seen.add(ref);
            const t = target(ref);
            if (t === undefined) return { ...rest, missing: ref };
            name = refName(ref);
            o = { ...t, ...rest };
          }
          return { node: o || {}, name };
        }
        // A schema with its allOf parts merged in (properties, required, type, constraints; if/then as `conditions`);
        // `name` is the component name when the schema is a reference. `merging` guards against allOf cycles.
        function flatten(schema, merging = []) {
          const r = deref(schema);
          if (r.missing) return { s: { description: r.description || "Unresolved reference: " + r.missing } };
          let s = { ...r.node };
          const name = r.name;
          if (name && merging.includes(name)) return { s: { description: "Circular allOf: " + name } };
          if (Array.isArray(s.allOf)) {
            const parts = s.allOf;
            delete s.allOf;
            const merged = { properties: {}, required: [] }, notes = [];
            for (const part of parts) {
              const p = flatten(part, name ? [...merging, name] : merging).s;
              if (p.if && p.then) { notes.push(p); continue; }
              for (const [k, v] of Object.entries(p)) {
                if (k === "properties") Object.assign(merged.properties, v);
                else if (k === "required") merged.required.push(...v);
                else if (k === "conditions") notes.push(...v);
                else if (!(k in merged)) merged[k] = v;
              }
            }
            for (const [k, v] of Object.entries(s)) {
              if (k === "properties") Object.assign(merged.properties, v);
              else if (k === "required") merged.required.push(...v);
              else merged[k] = v;
            }
            if (!Object.keys(merged.properties).length) delete merged.properties;
            if (notes.length) merged.conditions = notes;
            s = merged;
          }
          if (s.if && s.then) s = { ...s, conditions: [...(s.conditions || []), { if: s.if, then: s.then }] };
          return { s, name };
        }
        const json = v => JSON.stringify(v);
        // "string (uuid)", "integer or null", "array of Message", "Session", "UserId: string", …
        function typeText(schema, stack) {
          const { s, name } = flatten(schema);
          if (name && stack.includes(name)) return name;
          if (name) stack = [...stack, name];
          const types = [].concat(s.type ?? []);
          if (types.length === 1 && types[0] === "null") return "null";
          let base = types.filter(t => t !== "null").map(t => {
            if (t === "array") return "array of " + (s.items ? typeText(s.items, stack) : "anything");
            if (t === "object" && name) return name;
            return s.format ? `${t} (${s.format})` : t;
          }).join(" or ");
          if (!base) {
            if (s.oneOf || s.anyOf) base = (s.oneOf ? "one of " : "any of ") + (s.oneOf || s.anyOf).map(x => typeText(x, stack)).join(" | ");
            else if ("const" in s) base = "constant";
            else if (s.enum) base = "enum";
            else base = name || (s.properties ? "object" : "any");
          } else if (name && !types.includes("object") && !types.includes("array")) base = `${name}: ${base}`;
          return types.includes("null") ? base + " or null" : base;
        }
        // Constraints as short phrases: "1–200 characters", "≥ 0", "one of …", "pattern …", "default …", "e.g. …".
        function constraints(s) {
          const out = [];
          const range = (lo, hi, unit) => {
            const text = lo != null && hi != null ? (lo === hi ? `${lo}` : `${lo}–${hi}`) : lo != null ? `at least ${lo}` : hi != null ? `at most ${hi}` : null;
            return text && `${text} ${(hi ?? lo) === 1 ? unit : unit.replace(/y$/, "ie") + "s"}`;
          };
          out.push(range(s.minLength, s.maxLength, "character"), range(s.minItems, s.maxItems, "item"),
            range(s.minProperties, s.maxProperties, "property"));
          if (s.minimum != null) out.push("≥ " + s.minimum);
          if (s.exclusiveMinimum != null) out.push("> " + s.exclusiveMinimum);
          if (s.maximum != null) out.push("≤ " + s.maximum);
          if (s.exclusiveMaximum != null) out.push("< " + s.exclusiveMaximum);
          if (s.multipleOf != null) out.push("multiple of " + s.multipleOf);
          if (s.uniqueItems) out.push("unique items");
          if (s.enum) out.push(["one of ", s.enum.map((v, i) => [i ? ", " : "", h("code", null, json(v))])]);
          if ("const" in s) out.push(["always ", h("code", null, json(s.const))]);
          if (s.pattern) out.push(["pattern ", h("code", null, s.pattern)]);
          if ("default" in s) out.push(["default ", h("code", null, json(s.default))]);
          if (s.readOnly) out.push("read-only");
          if (s.writeOnly) out.push("write-only");
          if (s.deprecated) out.push("deprecated");
          if (s.type === "object" && !s.properties && s.additionalProperties !== false) out.push("any JSON object");
          const ex = s.examples ?? (s.example !== undefined ? [s.example] : []);
          if (ex.length && json(ex).length < 120) out.push(["e.g. ", ex.map((v, i) => [i ? ", " : "", h("code", null, json(v))])]);
          const parts = out.filter(Boolean);
          return parts.length ? h("span", {class: "c"}, " — ", parts.map((p, i) => [i ? "; " : "", p])) : null;
        }
        function conditionText(c) {
          const when = Object.entries(c.if.properties || {}).map(([k, v]) => [h("code", null, k), " is ", h("code", null, json(v.const ?? v.enum ?? v))]);
          const then = (c.then.required || []).map(k => h("code", null, k));
          if (!when.length || !then.length) return h("code", null, json(c));
          return ["When ", when.map((w, i) => [i ? " and " : "", w]), ": ", then.map((t, i) => [i ? ", " : "", t]), " required."];
        }
        // The children of a schema as a tree: object properties, array items' properties, alternatives.
        // `stack` holds the schema names being expanded, so a recursive schema stops instead of looping.
        function children(schema, stack, depth) {
          const { s, name } = flatten(schema);
          if (name && stack.includes(name)) return h("ul", {class: "tree"}, h("li", {class: "muted"}, `(${name} again, see above)`));
          if (depth > 12) return null;
          const inner = name ? [...stack, name] : stack;
          const kids = [];
          if (s.properties) {
            const required = new Set(s.required || []);
            for (const [prop, sub] of Object.entries(s.properties)) kids.push(property(prop, sub, required.has(prop), inner, depth + 1));
          }
          if (s.additionalProperties && typeof s.additionalProperties === "object")
            kids.push(property("(any other name)", s.additionalProperties, false, inner, depth + 1));
          for (const key of ["oneOf", "anyOf"]) if (Array.isArray(s[key]))
            s[key].forEach((alt, i) => kids.push(property(`(${key === "oneOf" ? "one of" : "any of"} #${i + 1})`, alt, false, inner, depth + 1)));
          for (const c of s.conditions || []) kids.push(h("li", {class: "c"}, conditionText(c)));
          if (s.items && !kids.length) return children(s.items, inner, depth + 1);
          return kids.length ? h("ul", {class: "tree"}, kids) : null;
        }
        function property(prop, schema, required, stack, depth) {
          const { s } = flatten(schema);
          return h("li", null, h("code", null, prop), " ", h("span", {class: "t"}, typeText(schema, stack)),
            required ? [" ", h("span", {class: "req"}, "required")] : null, constraints(s), md(s.description),
            children(schema, stack, depth));
        }
        // A whole schema: its type line, description, constraints and tree; and its examples, if any.
        function schemaBlock(schema, examples) {
          const { s } = flatten(schema);
          const ex = [...(s.examples || []), ...(s.example !== undefined ? [s.example] : []), ...(examples || [])];
          return h("div", null, h("div", null, h("span", {class: "t"}, typeText(schema, [])), constraints({ ...s, examples: undefined, example: undefined })),
            md(s.description),
            children(schema, [], 0), ex.map(v => h("details", null, h("summary", null, "Example"), h("pre", null, JSON.stringify(v, null, 2)))));
        }
        function mediaExamples(media) {
          const out = media.example !== undefined ? [media.example] : [];
          for (const e of Object.values(media.examples || {})) { const x = node(e); if (x.value !== undefined) out.push(x.value); }
          return out;
        }
        function content(c) {
          return Object.entries(c || {}).map(([type, media]) => h("div", null, h("div", {class: "c"}, "Content type ", h("code", null, type)),
            media.schema ? schemaBlock(media.schema, mediaExamples(media)) : null));
        }
        function parameters(list) {
          if (!list.length) return null;
          return [h("h4", null, "Parameters"), h("table", null, h("tr", null, ["Name", "In", "Type", "Description"].map(t => h("th", null, t))),
            list.map(p => h("tr", null, h("td", null, h("code", null, p.name), p.required ? [" ", h("span", {class: "req"}, "required")] : null),
              h("td", null, p.in), h("td", null, h("span", {class: "t"}, p.schema ? typeText(p.schema, []) : ""),
                p.schema ? constraints({ ...flatten(p.schema).s, ...(p.example !== undefined ? { examples: [p.example] } : {}) }) : null),
              h("td", null, md(p.description), p.schema ? children(p.schema, [], 0) : null))))];
        }
        function response(status, raw) {
          const r = node(raw);
          const headers = Object.entries(r.headers || {}).map(([name, hd]) => {
            const x = node(hd);
            return h("li", null, h("code", null, name), " ", x.schema ? h("span", {class: "t"}, typeText(x.schema, [])) : null,
              x.required ? [" ", h("span", {class: "req"}, "always")] : null, x.schema ? constraints(flatten(x.schema).s) : null, md(x.description));
          });
          const [first, ...more] = String(r.description || "").split(/\n\s*\n/);
          return h("details", {open: /^2/.test(status) ? "" : null},
            h("summary", null, h("strong", null, status), " ", inline(first.replace(/\s*\n\s*/g, " "))), md(more.join("\n\n")),
            headers.length ? [h("div", {class: "c"}, "Headers"), h("ul", {class: "tree"}, headers)] : null,
            content(r.content));
        }
        const anchor = (method, path, op) => op.operationId || (method + path).replace(/[^A-Za-z0-9_-]+/g, "-");
        const METHODS = ["get", "put", "post", "patch", "delete", "options", "head", "trace"];
        function operation(path, item, method, op) {
          const id = anchor(method, path, op);
          const params = new Map();
          for (const p of [...(item.parameters || []), ...(op.parameters || [])].map(node)) params.set(p.in + " " + p.name, p);
          const body = op.requestBody && node(op.requestBody);
          const security = op.security ?? doc.security ?? [];
          return h("section", {class: "op", id},
            h("h3", null, h("a", {href: "#" + id}, h("span", {class: "m " + method}, method.toUpperCase()), " ", h("span", {class: "p"}, path))),
            op.summary ? h("div", null, inline(op.summary)) : null, md(op.description),
            h("div", {class: "c"}, security.length ? ["Credentials: ", security.map(x => Object.keys(x).join(" + ") || "none").join(" or ")] : "No credentials needed."),
            parameters([...params.values()]),
            body ? [h("h4", null, "Request body", body.required ? [" ", h("span", {class: "req"}, "required")] : null), md(body.description), content(body.content)] : null,
            h("h4", null, "Responses"), Object.entries(op.responses || {}).map(([status, r]) => response(status, r)));
        }
        function render() {
          const ops = document.getElementById("ops"), nav = document.getElementById("nav");
          document.getElementById("title").textContent = doc.info.title;
          const summary = document.getElementById("about");
          summary.textContent = "";
          put(summary, inline(doc.info.summary || ""), " Version " + doc.info.version + ". Raw: ",
            h("a", {href: "/openapi.json"}, "JSON"), ", ", h("a", {href: "/openapi.yaml"}, "YAML"), ".");
          const about = md(doc.info.description);
          if (about) ops.before(h("details", null, h("summary", null, "About this API"), about));
          const groups = new Map((doc.tags || []).map(t => [t.name, { tag: t, ops: [] }]));
          for (const [path, item] of Object.entries(doc.paths || {}))
            for (const method of METHODS) if (item[method]) {
              const op = item[method];
              for (const tag of op.tags?.length ? op.tags : ["Other"]) {
                if (!groups.has(tag)) groups.set(tag, { tag: { name: tag }, ops: [] });
                groups.get(tag).ops.push([path, item, method, op]);
              }
            }
          nav.append(h("strong", null, "Operations"));
          for (const { tag, ops: list } of groups.values()) {
            if (!list.length) continue;
            const tagId = "tag-" + tag.name.replace(/[^A-Za-z0-9_-]+/g, "-");
            put(nav, h("div", null, h("a", {href: "#" + tagId}, tag.name)),
              h("ul", null, list.map(([path, , method, op]) => h("li", null, h("a", {href: "#" + anchor(method, path, op)},
                h("span", {class: "m " + method}, method.toUpperCase()), path)))));
            put(ops, h("h2", {id: tagId}, tag.name), md(tag.description), list.map(o => operation(...o)));
          }
          const schemas = Object.entries(doc.components?.schemas || {});
          if (schemas.length) {
            nav.append(h("div", null, h("a", {href: "#schemas"}, "Schemas")));
            put(ops, h("h2", {id: "schemas"}, "Schemas"), schemas.map(([name]) =>
              h("details", {id: "schema-" + name}, h("summary", null, h("code", null, name)),
                schemaBlock({ $ref: "#/components/schemas/" + name.replace(/~/g, "~0").replace(/\//g, "~1") }))));
          }
          // The page was empty when the browser looked for the fragment; look again now.
          try { if (location.hash) document.getElementById(decodeURIComponent(location.hash.slice(1)))?.scrollIntoView(); } catch {}
        }
        fetch("/openapi.json").then(r => r.json()).then(d => { doc = d; render(); })
          .catch(e => { document.getElementById("about").textContent = "Could not load /openapi.json: " + e; });
        </script></body></html>
        """#
}
