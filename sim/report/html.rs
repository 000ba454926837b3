//! `index.html`: one self-contained page per run — the summary tables, the
//! latency spectra, the timelines with timed events, the service graph (with
//! failure propagation when anything failed) and the run's identity (scenario
//! hash, seed, meshsim version). Self-contained because reports get mailed,
//! attached to tickets and opened years later: plots are inline SVG, CSS is
//! inline, and a Content-Security-Policy forbids every fetch, so the page
//! cannot phone home or break when a CDN moves. One small inline script
//! records script errors and CSP violations into `#console-errors` (what the
//! headless-Chromium test reads). Pure and deterministic: same run, same bytes.

pub mod tables;

use crate::batch::Merged;
use crate::report::markup::esc;
use crate::report::plot::{self, PlotError};
use crate::scenario::Scenario;
use serde_json::Value;
use std::fmt::Write;

/// The page's policy: nothing may be fetched; inline styles and the inline
/// error hook may run; images only as `data:` URLs.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
script-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

/// Records errors, console errors and CSP violations into
/// `#console-errors` (`data-count`), and marks `<body data-loaded="yes">`
/// once the load event fired.
const HOOK: &str = r#"(function () {
  var errs = [];
  function show() {
    var e = document.getElementById('console-errors');
    if (!e) return;
    e.textContent = errs.join('\n');
    e.setAttribute('data-count', String(errs.length));
    if (errs.length) e.hidden = false;
  }
  function add(m) { errs.push(String(m)); show(); }
  window.addEventListener('error', function (e) {
    var t = e.target;
    add('error: ' + (e.message || (t && (t.src || t.href)) || 'a resource failed to load'));
  }, true);
  window.addEventListener('unhandledrejection', function (e) { add('unhandled rejection: ' + e.reason); });
  document.addEventListener('securitypolicyviolation', function (e) {
    add('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI);
  });
  ['error', 'warn'].forEach(function (k) {
    var orig = console[k];
    console[k] = function () {
      add('console.' + k + ': ' + Array.prototype.join.call(arguments, ' '));
      return orig.apply(console, arguments);
    };
  });
  window.addEventListener('load', function () {
    show();
    document.body.setAttribute('data-loaded', 'yes');
  });
})();"#;

const CSS: &str = "
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', 'DejaVu Sans', sans-serif; margin: 0; color: #1d1d1f; background: #fafafa; }
header { background: #17324d; color: #fff; padding: 18px 28px 14px; }
header h1 { margin: 0 0 6px; font-size: 22px; }
header dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 0; font-size: 13px; }
header dt { color: #b8cbe0; }
header dd { margin: 0; font-family: ui-monospace, 'DejaVu Sans Mono', monospace; overflow-wrap: anywhere; }
nav { padding: 8px 28px; background: #e8eef4; border-bottom: 1px solid #cfd8e3; position: sticky; top: 0; z-index: 1; }
nav a { margin-right: 16px; color: #17324d; text-decoration: none; font-weight: 600; }
main { padding: 8px 28px 40px; }
section { margin-top: 22px; }
h2 { font-size: 18px; border-bottom: 2px solid #17324d; padding-bottom: 3px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
.scroll { overflow-x: auto; }
table.data { border-collapse: collapse; font-size: 12.5px; margin-bottom: 6px; }
table.data th, table.data td { padding: 3px 8px; border-bottom: 1px solid #e3e3e3; text-align: left; white-space: nowrap; vertical-align: top; }
table.data thead th { background: #eef2f6; position: sticky; top: 0; }
table.data tbody tr:nth-child(even) { background: #f5f7f9; }
table.data tbody th { font-weight: 600; }
.n { text-align: right !important; font-variant-numeric: tabular-nums; }
figure { margin: 12px 0; background: #fff; border: 1px solid #ddd; padding: 6px; display: inline-block; max-width: calc(100% - 14px); }
figure svg { max-width: 100%; height: auto; display: block; }
figure.wide { display: block; overflow: auto; max-height: 85vh; }
figure.wide svg { max-width: none; }
figcaption { font-size: 12.5px; color: #555; margin-top: 4px; max-width: 900px; }
.note { color: #555; }
.partial { background: #fff3cd; border: 1px solid #e0b800; padding: 8px 12px; }
#console-errors { background: #fde8e8; border: 1px solid #c62828; padding: 8px; white-space: pre-wrap; }
details summary { cursor: pointer; color: #17324d; margin: 4px 0; }
";

/// An SVG document ready to inline: its XML declaration dropped.
fn inline_svg(svg: &str) -> &str {
    match svg.strip_prefix("<?xml") {
        Some(rest) => rest.split_once("?>").map_or(svg, |(_, r)| r.trim_start()),
        None => svg,
    }
}

/// The `width` attribute of an SVG's root element.
fn svg_width(svg: &str) -> f64 {
    svg.split_once(" width=\"")
        .and_then(|(_, r)| r.split('"').next())
        .and_then(|w| w.parse().ok())
        .unwrap_or(0.0)
}

/// Drawings wider than this keep their size and scroll (a 1,000-service
/// graph shrunk to the page would be a grey smear).
const WIDE_PX: f64 = 1600.0;

fn figure(out: &mut String, class: &str, svg: &str, caption: &str) {
    let wide = if svg_width(svg) > WIDE_PX {
        " wide"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "<figure class=\"{class}{wide}\">\n{}<figcaption>{}</figcaption>\n</figure>",
        inline_svg(svg),
        esc(caption)
    );
}

/// Renders the page.
pub fn render(spec: &Scenario, m: &Merged) -> Result<String, PlotError> {
    let sum = crate::report::summary::value(spec, m);
    let graph = crate::report::propagation::graph_of_run(spec, m);
    let findings = crate::report::propagation::of_run(spec, m);
    let mut o = String::with_capacity(256 * 1024);
    let title = format!("{} — meshsim report", spec.name);
    let _ = writeln!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<meta name=\"generator\" content=\"meshsim {}\">\n<title>{}</title>\n\
<script>{HOOK}</script>\n<style>{CSS}</style>\n</head>\n<body>",
        env!("CARGO_PKG_VERSION"),
        esc(&title)
    );
    header(&mut o, spec, m, &sum);
    let mut nav = vec![("summary", "Summary")];
    if m.mesh.is_some() {
        nav.push(("mesh", "Routing"));
    }
    nav.extend([("latency", "Latency"), ("timeline", "Over time")]);
    if graph.is_some() {
        nav.push(("graph", "Service graph"));
    }
    let _ = write!(o, "<nav>");
    for (id, t) in &nav {
        let _ = write!(o, "<a href=\"#{id}\">{t}</a>");
    }
    let _ = writeln!(o, "</nav>\n<main>");
    if !m.partial.is_empty() {
        let _ = writeln!(o, "<div class=\"partial\"><strong>Partial run</strong><ul>");
        for p in &m.partial {
            let _ = writeln!(o, "<li>{}</li>", esc(p));
        }
        let _ = writeln!(o, "</ul></div>");
    }
    let _ = writeln!(
        o,
        "<section id=\"summary\">\n<h2>Summary</h2>\n<p class=\"note\">Latency in ms; numbers as in <code>summary.json</code> (measurement window only, warm-up excluded). Hover a heading for its meaning.</p>\n<div class=\"scroll\">"
    );
    tables::streams(&mut o, spec, &sum);
    tables::response_flags(&mut o, spec, &sum);
    let _ = writeln!(o, "</div>\n</section>");
    if let Some(mesh) = &m.mesh {
        let _ = writeln!(
            o,
            "<section id=\"mesh\">\n<h2>Routing (Envoy)</h2>\n<div class=\"scroll\">"
        );
        tables::mesh(&mut o, &sum, mesh);
        let _ = writeln!(o, "</div>\n</section>");
    }
    let _ = writeln!(o, "<section id=\"latency\">\n<h2>Latency spectrum</h2>");
    figure(
        &mut o,
        "latency",
        &plot::latency_svg(spec, m)?,
        "Latency by percentile, end to end per load generator and server side per Service, on HdrHistogram's axis: each step to the right is ten times rarer (90 %, 99 %, 99.9 % …). Curves end where the sample count runs out.",
    );
    let _ = writeln!(
        o,
        "</section>\n<section id=\"timeline\">\n<h2>Over time</h2>"
    );
    figure(
        &mut o,
        "timeline",
        &plot::timeline_svg(spec, m)?,
        "Throughput, mean latency and failures per load; utilisation and queue per workload, in 100 bins after warm-up (averaged over replications). Shaded: circuit-breaker rejections and outlier ejections of replication 0. Data: timeline.csv.",
    );
    let _ = writeln!(o, "</section>");
    if let Some(g) = &graph {
        let _ = writeln!(o, "<section id=\"graph\">\n<h2>Service graph</h2>");
        let caption = if findings.is_some() {
            "Callers above callees; each edge with its requests, failures, retries and what the callee caused vs passed on (also propagation.svg)."
        } else {
            "Callers above callees; each edge with the requests it carried. Nothing failed or was retried."
        };
        figure(
            &mut o,
            "graph",
            &crate::report::propagation::svg::render(g),
            caption,
        );
        if let Some(p) = &findings
            && !p.chains.is_empty()
        {
            chains(&mut o, p);
        }
        let _ = writeln!(o, "</section>");
    }
    notes(&mut o, spec);
    let _ = writeln!(
        o,
        "</main>\n<pre id=\"console-errors\" data-count=\"0\" hidden></pre>\n</body>\n</html>"
    );
    Ok(o)
}

/// The run's identity: what, with which seed, by which meshsim.
fn header(o: &mut String, spec: &Scenario, m: &Merged, sum: &Value) {
    let _ = writeln!(o, "<header>\n<h1>{}</h1>\n<dl>", esc(&spec.name));
    let s = |k: &str| match sum.get(k) {
        Some(Value::String(s)) => esc(s),
        Some(v) => esc(&v.to_string()),
        None => String::new(),
    };
    let rows = [
        ("scenario sha256", "scenario_sha256", s("scenario_sha256")),
        ("seed", "seed", s("seed")),
        (
            "replications",
            "replications",
            format!(
                "{} × {} simulated (warm-up {})",
                m.replications, spec.run.duration, spec.run.warmup
            ),
        ),
        ("events", "events", s("events")),
        ("event digest", "digest", s("digest")),
        ("meshsim", "meshsim_version", s("meshsim_version")),
        ("models", "models", s("models")),
    ];
    for (label, field, v) in rows {
        let _ = writeln!(o, "<dt>{label}</dt><dd data-field=\"{field}\">{v}</dd>");
    }
    let _ = writeln!(o, "</dl>\n</header>");
}

fn chains(o: &mut String, p: &crate::report::propagation::Propagation) {
    let _ = writeln!(
        o,
        "<h3>Most frequent failure chains ({} failed requests, {} distinct chains)</h3>\n<table class=\"data\" data-table=\"chains\"><thead><tr><th>chain (outermost ← root cause)</th><th class=\"n\">count</th><th class=\"n\">share</th></tr></thead>\n<tbody>",
        p.failures, p.distinct_chains
    );
    for c in &p.chains {
        let _ = writeln!(
            o,
            "<tr data-kind=\"chain\"><td>{}</td><td class=\"n\" data-field=\"count\">{}</td><td class=\"n\">{:.1} %</td></tr>",
            esc(&c.text),
            c.count,
            c.share * 100.0
        );
    }
    let _ = writeln!(o, "</tbody></table>");
}

fn notes(o: &mut String, spec: &Scenario) {
    if spec.warnings.is_empty() && spec.not_simulated.is_empty() {
        return;
    }
    let _ = writeln!(o, "<section id=\"notes\">\n<h2>Notes</h2>");
    for (title, items) in [
        ("Warnings", &spec.warnings),
        ("Read but not simulated", &spec.not_simulated),
    ] {
        if items.is_empty() {
            continue;
        }
        let _ = writeln!(o, "<h3>{title} ({})</h3>\n<ul>", items.len());
        for w in items.iter() {
            let _ = writeln!(o, "<li>{}</li>", esc(&w.to_string()));
        }
        let _ = writeln!(o, "</ul>");
    }
    let _ = writeln!(o, "</section>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_xml_declaration_is_dropped_for_inlining() {
        assert_eq!(inline_svg("<?xml version=\"1.0\"?>\n<svg a>"), "<svg a>");
        assert_eq!(inline_svg("<svg b>"), "<svg b>");
        assert_eq!(
            svg_width("<svg x=\"1\" width=\"96800\" height=\"5\">"),
            96800.0
        );
    }

    #[test]
    fn the_policy_forbids_fetches() {
        assert!(CSP.starts_with("default-src 'none'"));
        assert!(!CSP.contains("http"));
        assert!(!HOOK.contains("fetch(") && !HOOK.contains("XMLHttpRequest"));
    }
}
