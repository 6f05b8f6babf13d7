/*
 * srv_console.c - the web console's first page and the tables endpoint.
 *
 * GET / serves one self-contained HTML page, embedded in the binary (no
 * files to deploy, no outside assets): it shows the server's health and,
 * once the user pastes a token (kept in the tab's sessionStorage only,
 * never in a cookie or the URL), the row count of every table that holds
 * data, read from GET /api/v1/tables. The page is public because it holds
 * no data; everything it shows comes from endpoints that check the token.
 */
#include <string.h>

#include "../store/vg_store.h"
#include "vg_srv_int.h"

static const char console_html[] =
    "<!doctype html>\n"
    "<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>Vigil</title>\n"
    "<style>\n"
    "body{font-family:system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2430}\n"
    "header{background:#1d2430;color:#fff;padding:12px 24px;font-size:20px}\n"
    "main{max-width:900px;margin:24px auto;padding:0 24px}\n"
    "section{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:16px;margin-bottom:16px}\n"
    "table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:4px 8px;border-bottom:1px solid #eee}\n"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}.ok{color:#1a7f37}.bad{color:#c62828}\n"
    "input{width:60%;font-family:monospace}code{background:#eef1f4;padding:1px 4px}\n"
    "</style></head><body>\n"
    "<header>Vigil</header>\n"
    "<main>\n"
    "<section><h2>Server</h2><p>Health: <span id=\"health\">checking&hellip;</span></p></section>\n"
    "<section><h2>Tables</h2>\n"
    "<p><label>API token <input id=\"token\" type=\"password\" autocomplete=\"off\"></label>\n"
    "<button id=\"load\">Show</button></p>\n"
    "<p id=\"msg\"></p>\n"
    "<table id=\"tables\"><thead><tr><th>table</th><th>rows</th></tr></thead><tbody></tbody></table>\n"
    "</section>\n"
    "<section><h2>Send events</h2>\n"
    "<p><code>curl -H 'Authorization: Bearer TOKEN' --data-binary @events.ndjson "
    "'/api/v1/ingest?table=DeviceProcessEvents'</code></p>\n"
    "<p>Metrics for Prometheus: <code>/metrics</code> (viewer token or above).</p>\n"
    "</section>\n"
    "</main>\n"
    "<script>\n"
    "const $=id=>document.getElementById(id);\n"
    "fetch('/healthz').then(r=>r.json()).then(j=>{$('health').textContent=j.status;"
    "$('health').className='ok';}).catch(()=>{$('health').textContent='unreachable';"
    "$('health').className='bad';});\n"
    "$('token').value=sessionStorage.getItem('vigil-token')||'';\n"
    "function load(){const t=$('token').value.trim();sessionStorage.setItem('vigil-token',t);\n"
    " fetch('/api/v1/tables',{headers:{Authorization:'Bearer '+t}}).then(async r=>{\n"
    "  const j=await r.json();if(!r.ok){$('msg').textContent=j.error||('HTTP '+r.status);"
    "$('msg').className='bad';return;}\n"
    "  $('msg').textContent=j.tables.length+' tables hold data';$('msg').className='ok';\n"
    "  const tb=$('tables').tBodies[0];tb.replaceChildren();\n"
    "  for(const x of j.tables){const tr=tb.insertRow();tr.insertCell().textContent=x.table;\n"
    "   const c=tr.insertCell();c.className='n';c.textContent=x.rows.toLocaleString();}\n"
    " }).catch(e=>{$('msg').textContent=String(e);$('msg').className='bad';});}\n"
    "$('load').onclick=load;if($('token').value)load();\n"
    "</script>\n"
    "</body></html>\n";

void vg_h_console(vg_req *rq)
{
    rq->status = 200;
    rq->content_type = "text/html; charset=utf-8";
    vg_buf_put(&rq->out, console_html, sizeof console_html - 1);
}

void vg_h_tables(vg_req *rq)
{
    rq->status = 200;
    rq->content_type = "application/json";
    vg_buf_puts(&rq->out, "{\"tables\":[");
    bool first = true;
    for (size_t t = 0; t < vg_schema_ntables; t++) {
        uint64_t n = vg_store_table_rows(rq->srv->store, &vg_schema_tables[t]);
        if (!n)
            continue;
        vg_buf_printf(&rq->out, "%s{\"table\":\"%s\",\"rows\":%llu}", first ? "" : ",",
                      vg_schema_tables[t].name, (unsigned long long)n);
        first = false;
    }
    vg_buf_puts(&rq->out, "]}\n");
}
