//! The Kubernetes object envelope: every document (or `List` item) becomes an
//! [`Object`] with its apiVersion, kind, namespace and name, located for
//! diagnostics, before any kind is decoded. Name rules the API server applies
//! to every kind are checked here too.

use super::decode::{Cx, V};
use super::diag::{Diagnostics, Origin};
use super::raw::Document;

/// The apiVersion of meshsim's own kinds.
pub const MESHSIM_API: &str = "meshsim.dev/v1alpha1";

/// One Kubernetes-style object found in the input.
pub struct Object<'a> {
    pub origin: Origin,
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub namespace: String,
    pub node: V<'a>,
}

impl Object<'_> {
    /// A "not simulated" note's line: `file: document N (kind/name): what`.
    pub fn note_line(&self, what: &str) -> String {
        format!(
            "{}: document {} ({}): {what}",
            self.origin.file,
            self.origin.document,
            self.origin.object.as_deref().unwrap_or(&self.kind)
        )
    }
}

/// Collects the objects of every document, reporting syntax errors and
/// documents that are not objects.
pub fn collect_objects<'a>(
    docs: &'a [(String, Vec<Document>)],
    diags: &mut Diagnostics,
    ns: Option<&str>,
) -> Vec<Object<'a>> {
    let mut out = Vec::new();
    for (file, documents) in docs {
        for d in documents {
            let origin = Origin {
                file: file.clone(),
                document: d.index,
                object: None,
            };
            let v = V::root(&d.root, "");
            push_object(origin, v, diags, &mut out, false, ns);
        }
    }
    out
}

fn push_object<'a>(
    mut origin: Origin,
    v: V<'a>,
    diags: &mut Diagnostics,
    out: &mut Vec<Object<'a>>,
    in_list: bool,
    default_ns: Option<&str>,
) {
    let mut cx = Cx::new(origin.clone(), diags);
    if !v.is_map() {
        cx.error(
            &v,
            format!(
                "{} is not a Kubernetes object (expected a mapping with apiVersion, kind and metadata)",
                v.node.value.type_name()
            ),
        );
        return;
    }
    let kind = v.get("kind").and_then(|k| k.as_str()).map(str::to_string);
    let api = v
        .get("apiVersion")
        .and_then(|k| k.as_str())
        .map(str::to_string);
    let (Some(kind), Some(api)) = (kind, api) else {
        let missing = if v.get("kind").and_then(|k| k.as_str()).is_none() {
            "kind"
        } else {
            "apiVersion"
        };
        if let Some(k) = v.get(missing) {
            // Present but not a string.
            cx.str(&k);
            return;
        }
        let p = if v.path.is_empty() {
            missing.to_string()
        } else {
            format!("{}.{missing}", v.path)
        };
        cx.error_at(
            v.loc(),
            &p,
            "missing required field (every document must be a Kubernetes object with apiVersion and kind)",
        );
        return;
    };
    if kind == "List" && !in_list {
        if let Some(items) = v.get("items")
            && let Some(items) = cx.seq(&items)
        {
            for item in items {
                push_object(origin.clone(), item, diags, out, true, default_ns);
            }
        }
        return;
    }
    let meta = v.get("metadata");
    let name = meta
        .as_ref()
        .and_then(|m| m.get("name"))
        .and_then(|n| n.as_str())
        .unwrap_or("")
        .to_string();
    let namespace = meta
        .as_ref()
        .and_then(|m| m.get("namespace"))
        .and_then(|n| n.as_str())
        .unwrap_or(default_ns.unwrap_or("default"))
        .to_string();
    let (k, ns, n) = (shown(&kind), shown(&namespace), shown(&name));
    origin.object = Some(if name.is_empty() {
        k
    } else if matches!(kind.as_str(), "Namespace" | "Simulation" | "Cluster") {
        format!("{k} {n}")
    } else {
        format!("{k} {ns}/{n}")
    });
    let mut cx = Cx::new(origin.clone(), diags);
    if let (Some(want), Some(at)) = (default_ns, meta.as_ref().and_then(|m| m.get("namespace")))
        && at.as_str().is_some_and(|got| got != want)
    {
        cx.error(
            &at,
            format!("{namespace:?} does not match the namespace {want:?} given with -n (kubectl refuses it too)"),
        );
    }
    if let Some(m) = &meta {
        for key in ["name", "namespace"] {
            if let Some(x) = m.get(key) {
                // Present but not a string.
                if x.as_str().is_none() {
                    cx.str(&x);
                }
            }
        }
    }
    // A name that is there but not a string was reported just above.
    let name_present = meta.as_ref().is_some_and(|m| m.has("name"));
    if name.is_empty() && !name_present {
        match &meta {
            Some(m) if !m.has("generateName") => cx.error_at(
                m.loc(),
                &format!("{}metadata.name", prefix(&v)),
                "missing required field",
            ),
            None => cx.error_at(
                v.loc(),
                &format!("{}metadata", prefix(&v)),
                "missing required field",
            ),
            _ => {}
        }
    }
    out.push(Object {
        origin,
        api_version: api,
        kind,
        name,
        namespace,
        node: v,
    });
}

/// A kind or name as written, quoted and escaped when it is not plain text,
/// so that a diagnostic stays one readable line.
pub fn shown(s: &str) -> String {
    if s.chars().nth(80).is_some() {
        return super::diag::shorten(s);
    }
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || "-._:/@+~".contains(c))
    {
        s.to_string()
    } else {
        format!("{s:?}")
    }
}

/// Kubernetes object names: the API server rejects anything else. A Service
/// name is an RFC 1035 label (it becomes a DNS name), a Namespace an RFC 1123
/// label, other objects an RFC 1123 subdomain.
pub fn check_name(o: &Object, cx: &mut Cx) {
    let label = |s: &str, first_letter: bool| {
        let b = s.as_bytes();
        !b.is_empty()
            && b.len() <= 63
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
            && (b[0].is_ascii_lowercase() || (!first_letter && b[0].is_ascii_digit()))
            && b[b.len() - 1] != b'-'
    };
    let meta = o.node.get("metadata");
    let name_ok = match o.kind.as_str() {
        "Service" => label(&o.name, true),
        "Namespace" => label(&o.name, false),
        _ => o.name.len() <= 253 && o.name.split('.').all(|p| label(p, false)),
    };
    if !o.name.is_empty()
        && !name_ok
        && let Some(n) = meta.as_ref().and_then(|m| m.get("name"))
    {
        let rule = match o.kind.as_str() {
            "Service" => {
                "lowercase letters, digits and '-', starting with a letter, at most 63 characters"
            }
            "Namespace" => "lowercase letters, digits and '-', at most 63 characters",
            _ => "lowercase letters, digits, '-' and '.', at most 253 characters",
        };
        // The API server rejects it, so meshsim does too.
        cx.error(
            &n,
            format!(
                "{} is not a valid {} name ({rule}); the API server would reject it",
                super::diag::shorten(&o.name),
                o.kind
            ),
        );
    }
    if let Some(ns) = meta.as_ref().and_then(|m| m.get("namespace"))
        && ns.as_str().is_some_and(|s| !label(s, false))
    {
        cx.error(
            &ns,
            format!(
                "{:?} is not a valid namespace (lowercase letters, digits and '-', at most 63 characters); the API server would reject it",
                o.namespace
            ),
        );
    }
}

pub fn prefix(v: &V) -> String {
    if v.path.is_empty() {
        String::new()
    } else {
        format!("{}.", v.path)
    }
}
