/// The dashboard's page, style sheet and script (`DashboardController`). Plain HTML, CSS and
/// JavaScript kept as Swift strings so that they ship inside the binary; no library, no CDN.
/// `{{AUTH_MODE}}` is replaced by `jwt` or `none` when the controller is built.
enum DashboardAssets {
    static let html = ##"""
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>ResearchStore dashboard</title>
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <link rel="icon" href="data:,">
        <link rel="stylesheet" href="/dashboard/app.css">
        <script src="/dashboard/app.js" defer></script>
        </head>
        <body data-auth="{{AUTH_MODE}}">
        <header>
          <h1>ResearchStore</h1>
          <div class="bar">
            <label>Window <select id="range">
              <option value="7">7 days</option><option value="14" selected>14 days</option><option value="30">30 days</option><option value="90">90 days</option>
            </select></label>
            <span id="updated" class="muted">not loaded</span>
            <button id="signout" type="button" hidden>Change token</button>
          </div>
        </header>
        <main>
          <p id="message" role="alert" hidden></p>
          <form id="auth" hidden>
            <div data-mode="jwt">
              <label for="token">Admin token (a JWT with the <code>admin</code> role; kept in this tab's session storage only)</label>
              <input id="token" name="token" type="password" autocomplete="off" spellcheck="false" placeholder="eyJhbGciOi…">
            </div>
            <div data-mode="none">
              <label for="user">User id (AUTH_MODE=none: sent as X-User-ID with X-User-Roles: admin)</label>
              <input id="user" name="user" type="text" autocomplete="off" value="admin">
            </div>
            <button type="submit">Show the numbers</button>
          </form>
          <div id="charts" hidden>
            <section class="tiles" id="tiles">
              <div class="tile" data-tile="sessions"><span class="k">Sessions</span><span class="v">–</span></div>
              <div class="tile" data-tile="messages"><span class="k">Messages</span><span class="v">–</span></div>
              <div class="tile" data-tile="llm-calls"><span class="k">LLM calls</span><span class="v">–</span></div>
              <div class="tile" data-tile="llm-cost"><span class="k">LLM cost (USD)</span><span class="v">–</span></div>
              <div class="tile" data-tile="feedback"><span class="k">Feedback · mean</span><span class="v">–</span></div>
              <div class="tile" data-tile="events"><span class="k">Events</span><span class="v">–</span></div>
            </section>
            <div class="grid">
              <section class="card" data-chart="messages-per-day"><h2>Messages per day</h2><div class="plot"></div></section>
              <section class="card" data-chart="sessions-per-day"><h2>Sessions per day</h2><div class="plot"></div></section>
              <section class="card" data-chart="llm-calls"><h2>LLM calls by model</h2><div class="plot"></div></section>
              <section class="card" data-chart="llm-tokens"><h2>LLM tokens by model (prompt + completion)</h2><div class="plot"></div></section>
              <section class="card" data-chart="llm-cost"><h2>LLM cost by model (USD)</h2><div class="plot"></div></section>
              <section class="card" data-chart="llm-latency"><h2>LLM latency percentiles (ms)</h2><div class="plot"></div></section>
              <section class="card" data-chart="feedback"><h2>Feedback ratings</h2><div class="plot"></div></section>
              <section class="card" data-chart="research-outcomes"><h2>Research requests by status</h2><div class="plot"></div></section>
              <section class="card" data-chart="research-durations"><h2>Research durations (ms)</h2><div class="plot"></div></section>
              <section class="card" data-chart="event-types"><h2>Busiest event types</h2><div class="plot"></div></section>
            </div>
          </div>
        </main>
        </body></html>
        """##

    static let styleSheet = ##"""
        :root{--fg:#1d2430;--muted:#667085;--line:#e4e7ec;--bg:#f6f7f9;--card:#fff;--accent:#2f6fde}
        *{box-sizing:border-box}
        [hidden]{display:none!important}
        html{-webkit-text-size-adjust:100%}
        body{margin:0;font:15px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg)}
        header{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;justify-content:space-between;padding:.75rem 1rem;background:var(--card);border-bottom:1px solid var(--line)}
        h1{font-size:1.15rem;margin:0}
        h2{font-size:.95rem;margin:0 0 .5rem;font-weight:600}
        .bar{display:flex;flex-wrap:wrap;gap:.5rem .9rem;align-items:center;font-size:.9rem}
        .muted{color:var(--muted)}
        main{padding:1rem;max-width:1400px;margin:0 auto}
        button,select,input{font:inherit}
        button{padding:.35rem .8rem;border:1px solid var(--accent);background:var(--accent);color:#fff;border-radius:6px;cursor:pointer}
        #signout{background:transparent;color:var(--accent)}
        #message{padding:.7rem .9rem;border-radius:6px;background:#fff4e5;border:1px solid #f5c16c;margin:0 0 1rem}
        #message[data-kind=error]{background:#fdecec;border-color:#f09b9b}
        form{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:1rem;max-width:40rem;display:grid;gap:.75rem}
        form label{display:block;font-size:.9rem;margin-bottom:.3rem}
        form input{width:100%;padding:.45rem .55rem;border:1px solid #c9ced6;border-radius:6px}
        body[data-auth=jwt] [data-mode=none],body[data-auth=none] [data-mode=jwt]{display:none}
        .tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(9.5rem,1fr));gap:.75rem;margin-bottom:1rem}
        .tile{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.6rem .8rem;min-width:0}
        .tile .k{display:block;font-size:.8rem;color:var(--muted)}
        .tile .v{display:block;font-size:1.3rem;font-weight:600;overflow-wrap:anywhere}
        .grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,26rem),1fr));gap:1rem}
        .card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.8rem;min-width:0}
        .plot{width:100%;min-height:4rem}
        .plot svg{display:block;width:100%;height:auto}
        .plot text{font-size:12px;fill:#344054}
        .plot .axis{stroke:var(--line)}
        .plot .bar:hover{opacity:.8}
        .empty{margin:1.2rem 0;text-align:center;color:var(--muted)}
        .legend{display:flex;flex-wrap:wrap;gap:.3rem .9rem;font-size:.8rem;color:var(--muted);margin-top:.3rem}
        .legend i{display:inline-block;width:.7rem;height:.7rem;border-radius:2px;margin-right:.3rem;vertical-align:-1px}
        @media (max-width:480px){main{padding:.6rem}header{padding:.6rem}.tile .v{font-size:1.1rem}}
        """##
}
