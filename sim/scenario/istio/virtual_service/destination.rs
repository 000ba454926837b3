//! `Destination`, `HTTPRouteDestination` and `RouteDestination`: where a route
//! sends traffic and with which weight (`validateDestination`, the weight
//! rules of `validateHTTPRoute`/`validateTCPRoute` in istiod 1.28). HTTP and
//! L4 routes share them.

use super::super::hosts::{self, obj};
use super::route_policy::headers;
use crate::scenario::decode::{Cx, V};
use crate::scenario::spec::istio::*;

/// A `Destination` (`validateDestination`): host required and not `*`,
/// subset a DNS label, port valid.
pub(super) fn destination(cx: &mut Cx, d: &V, ns: &str) -> Option<Destination> {
    obj(cx, d, &["host", "subset", "port"])?;
    let hv = cx.req(d, "host")?;
    let host = cx.str(&hv)?;
    if host == "*" {
        cx.error(&hv, "invalid destination host *");
        return None;
    }
    if let Err(e) = hosts::wildcard_domain(host)
        && !hosts::is_ip(host)
    {
        cx.error(&hv, e);
        return None;
    }
    let subset = match d.get("subset") {
        Some(s) => {
            let name = cx.str(&s)?;
            if !hosts::is_dns1123_label(name) {
                cx.error(&s, format!("subset name {name:?} is invalid"));
                return None;
            }
            Some(name.to_string())
        }
        None => None,
    };
    let port = match d.get("port") {
        Some(p) => {
            obj(cx, &p, &["number"])?;
            p.get("number").and_then(|n| cx.port(&n))
        }
        None => None,
    };
    Some(Destination {
        host: hosts::resolve_host(host, ns),
        subset,
        port,
    })
}

/// Weights: ≥ 0; several destinations summing to 0 ⇒ error; a sum ≠ 100 is
/// accepted by Istio 1.28 (Envoy splits in proportion) ⇒ warning.
pub(super) fn weights(cx: &mut Cx, r: &V, ws: &[(Option<i64>, V)]) -> Option<Vec<u32>> {
    let mut out = Vec::new();
    let mut ok = true;
    for (w, at) in ws {
        match w {
            Some(w) if *w < 0 => {
                cx.error(at, format!("weight {w} < 0"));
                ok = false;
            }
            Some(w) if *w > i32::MAX as i64 => {
                cx.error(at, format!("weight {w} is too large"));
                ok = false;
            }
            _ => out.push(w.unwrap_or(0) as u32),
        }
    }
    if !ok {
        return None;
    }
    if out.len() == 1 && ws[0].0.is_none() {
        out[0] = 100;
    }
    let total: u64 = out.iter().map(|w| *w as u64).sum();
    if out.len() > 1 && total == 0 {
        cx.error(r, "total destination weight = 0");
        return None;
    }
    if out.len() > 1 && total != 100 {
        cx.note(
            r,
            format!("destination weights sum to {total}, not 100: Istio 1.28 accepts this and Envoy splits in proportion to the weights (a note, never an error: --strict does not promote it)"),
        );
    }
    Some(out)
}

pub(super) fn http_destinations(cx: &mut Cx, r: &V, ns: &str) -> Option<Vec<HttpRouteDestination>> {
    let rv = r.get("route")?;
    let items = cx.seq(&rv)?;
    let mut ds = Vec::new();
    let mut ws = Vec::new();
    for it in &items {
        obj(cx, it, &["destination", "weight", "headers"])?;
        let d = cx
            .req(it, "destination")
            .and_then(|d| destination(cx, &d, ns));
        let w = it
            .get("weight")
            .map(|w| (cx.int(&w), w))
            .unwrap_or((None, it.clone()));
        if it.get("weight").is_some() && w.0.is_none() {
            return None;
        }
        ws.push(w);
        let h = it
            .get("headers")
            .map(|h| headers(cx, &h))
            .unwrap_or_default();
        ds.push((d, h));
    }
    let weights = weights(cx, &rv, &ws)?;
    let mut out = Vec::new();
    for ((d, h), w) in ds.into_iter().zip(weights) {
        out.push(HttpRouteDestination {
            destination: d?,
            weight: w,
            headers: h,
        });
    }
    Some(out)
}

pub(super) fn l4_destinations(
    cx: &mut Cx,
    r: &V,
    ns: &str,
    what: &str,
) -> Option<Vec<RouteDestination>> {
    let Some(rv) = r.get("route") else {
        cx.error(r, format!("{what} route is required"));
        return None;
    };
    let items = cx.seq(&rv)?;
    let mut ds = Vec::new();
    let mut ws = Vec::new();
    for it in &items {
        obj(cx, it, &["destination", "weight"])?;
        ds.push(
            cx.req(it, "destination")
                .and_then(|d| destination(cx, &d, ns)),
        );
        let w = it
            .get("weight")
            .map(|w| (cx.int(&w), w))
            .unwrap_or((None, it.clone()));
        ws.push(w);
    }
    let weights = weights(cx, &rv, &ws)?;
    let mut out = Vec::new();
    for (d, w) in ds.into_iter().zip(weights) {
        out.push(RouteDestination {
            destination: d?,
            weight: w,
        });
    }
    Some(out)
}
