//! `--set KIND/[NAMESPACE/]NAME.FIELD.PATH=VALUE`: one field of one object
//! changed for this run, without editing the user's files.
//!
//! Why on the parsed YAML, before validation: the changed value then goes
//! through exactly the checks the file would (`replicas: -1` is rejected the
//! same way), and an error still points at the line of the field it
//! replaced. The address is kubectl's `kind/name` (`kubectl get
//! deployment/reviews-v1`), with the namespace in between when the name is
//! not unique (`Deployment/default/reviews-v1`), then the YAML path of the
//! field as `kubectl explain` spells it: `Load/web.spec.open.rate=200`,
//! `Deployment/default/reviews-v1.spec.replicas=3`,
//! `Workload/reviews-v1.spec.workers=8`. A list item is `[i]`
//! (`spec.script[0].compute`); a key with dots is quoted (`"a.b"`). Kinds
//! match case-insensitively. A missing last field is added (`replicas`
//! defaults to 1 when absent); a missing parent is an error.

use super::raw::{Document, Node, Value};

/// One `--set` argument, split at its first `=`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetArg {
    /// `KIND/[NS/]NAME.FIELD…`
    pub target: String,
    pub value: String,
}

impl std::str::FromStr for SetArg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (target, value) = s.split_once('=').ok_or_else(|| {
            format!("{s:?}: expected KIND/[NAMESPACE/]NAME.FIELD=VALUE, e.g. Load/web.spec.open.rate=200")
        })?;
        let target = target.trim();
        if !target.contains('/') || !target.contains('.') {
            return Err(format!(
                "{target:?}: expected KIND/[NAMESPACE/]NAME.FIELD, e.g. Deployment/reviews-v1.spec.replicas"
            ));
        }
        Ok(SetArg {
            target: target.to_string(),
            value: value.trim().to_string(),
        })
    }
}

impl std::fmt::Display for SetArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}={}", self.target, self.value)
    }
}

/// A step of a field path.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

fn field_path(s: &str) -> Result<Vec<Step>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '"' {
            let end = chars[i + 1..]
                .iter()
                .position(|&c| c == '"')
                .ok_or_else(|| format!("unterminated quote in {s:?}"))?;
            out.push(Step::Key(chars[i + 1..i + 1 + end].iter().collect()));
            i += end + 2;
        } else {
            let start = i;
            while i < chars.len() && !matches!(chars[i], '.' | '[') {
                i += 1;
            }
            if start == i && chars.get(i) != Some(&'[') {
                return Err(format!("empty field name in {s:?}"));
            }
            if start < i {
                out.push(Step::Key(chars[start..i].iter().collect()));
            }
        }
        while chars.get(i) == Some(&'[') {
            let end = chars[i..]
                .iter()
                .position(|&c| c == ']')
                .ok_or_else(|| format!("unclosed [ in {s:?}"))?;
            let n: String = chars[i + 1..i + end].iter().collect();
            let n = n
                .parse::<usize>()
                .map_err(|_| format!("[{n}] in {s:?}: a list index is a whole number ≥ 0"))?;
            out.push(Step::Index(n));
            i += end + 1;
        }
        if i < chars.len() {
            if chars[i] != '.' {
                return Err(format!("expected . after ] in {s:?}"));
            }
            i += 1;
            if i == chars.len() {
                return Err(format!("{s:?} ends with a dot"));
            }
        }
    }
    if out.is_empty() {
        return Err(format!("no field in {s:?}"));
    }
    Ok(out)
}

/// The YAML value a command-line value stands for: a number if it reads as
/// one, a boolean for true/false, else a string (a duration such as `20ms`).
fn scalar(v: &str) -> Value {
    if let Ok(i) = v.parse::<i64>() {
        Value::Int(i)
    } else if let Ok(u) = v.parse::<u64>() {
        Value::UInt(u)
    } else if let Ok(f) = v.parse::<f64>() {
        Value::Float(f)
    } else if v == "true" || v == "false" {
        Value::Bool(v == "true")
    } else {
        Value::Str(v.to_string())
    }
}

/// (kind, namespace, name) of a document's object, as the loader will see it.
fn identity(root: &Node, default_ns: &str) -> Option<(String, String, String)> {
    let Value::Map(m) = &root.value else {
        return None;
    };
    let get = |n: &Node, k: &str| match &n.value {
        Value::Map(m) => m.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone()),
        _ => None,
    };
    let s = |n: Option<Node>| match n.map(|n| n.value) {
        Some(Value::Str(s)) => Some(s),
        _ => None,
    };
    let kind = s(m.iter().find(|(k, _)| k == "kind").map(|(_, v)| v.clone()))?;
    let meta = m.iter().find(|(k, _)| k == "metadata").map(|(_, v)| v)?;
    let name = s(get(meta, "name"))?;
    let ns = s(get(meta, "namespace")).unwrap_or_else(|| default_ns.to_string());
    Some((kind, ns, name))
}

/// Applies every `--set` in order to the parsed files. Returns one message
/// per argument that names no object or field (the caller locates it at
/// `--set`). `default_ns` is `-n` or `default`.
pub fn apply(
    files: &mut [(String, Vec<Document>)],
    sets: &[SetArg],
    default_ns: &str,
) -> Vec<(String, String)> {
    let mut errors = Vec::new();
    for s in sets {
        if let Err(e) = apply_one(files, s, default_ns) {
            errors.push((s.target.clone(), e));
        }
    }
    errors
}

/// A matching object: file index, document index, namespace.
type Hit = (usize, usize, String);

fn apply_one(
    files: &mut [(String, Vec<Document>)],
    s: &SetArg,
    default_ns: &str,
) -> Result<(), String> {
    let (kind, rest) = s.target.split_once('/').expect("checked by FromStr");
    // `ns/name.path` when a `/` comes before the first `.`.
    let (ns, rest) = match (rest.find('/'), rest.find('.')) {
        (Some(sl), Some(dot)) if sl < dot => (Some(&rest[..sl]), &rest[sl + 1..]),
        _ => (None, rest),
    };
    let ids: Vec<(usize, usize, (String, String, String))> = files
        .iter()
        .enumerate()
        .flat_map(|(f, (_, docs))| {
            docs.iter()
                .enumerate()
                .filter_map(move |(d, doc)| identity(&doc.root, default_ns).map(|id| (f, d, id)))
        })
        .collect();
    let of_kind: Vec<&(usize, usize, (String, String, String))> = ids
        .iter()
        .filter(|(_, _, (k, _, _))| k.eq_ignore_ascii_case(kind))
        .collect();
    if of_kind.is_empty() {
        let mut kinds: Vec<&str> = ids.iter().map(|(_, _, (k, _, _))| k.as_str()).collect();
        kinds.sort_unstable();
        kinds.dedup();
        return Err(format!(
            "no object of kind {kind:?} (kinds: {})",
            kinds.join(", ")
        ));
    }
    // The longest name that matches, then the field path after it (names
    // may contain dots).
    let mut best: Option<(&str, Vec<Hit>)> = None;
    for (i, _) in rest.match_indices('.') {
        let name = &rest[..i];
        let hits: Vec<Hit> = of_kind
            .iter()
            .filter(|(_, _, (_, n_ns, n))| n == name && ns.is_none_or(|x| x == n_ns))
            .map(|(f, d, (_, n_ns, _))| (*f, *d, n_ns.clone()))
            .collect();
        if !hits.is_empty() {
            best = Some((&rest[i + 1..], hits));
        }
    }
    let Some((path, hits)) = best else {
        let names: Vec<String> = of_kind
            .iter()
            .map(|(_, _, (_, n_ns, n))| format!("{n_ns}/{n}"))
            .collect();
        return Err(format!(
            "no {kind} named as in {:?} ({}s: {})",
            s.target,
            of_kind[0].2.0,
            names.join(", ")
        ));
    };
    if hits.len() > 1 {
        let nss: Vec<&str> = hits.iter().map(|h| h.2.as_str()).collect();
        return Err(format!(
            "{:?} is in several namespaces ({}): write {kind}/NAMESPACE/NAME…",
            s.target,
            nss.join(", ")
        ));
    }
    let steps = field_path(path)?;
    let (f, d, _) = &hits[0];
    let root = &mut files[*f].1[*d].root;
    set_at(root, &steps, scalar(&s.value)).map_err(|e| format!("{path}: {e}"))
}

fn set_at(mut node: &mut Node, steps: &[Step], value: Value) -> Result<(), String> {
    for (i, step) in steps.iter().enumerate() {
        let last = i + 1 == steps.len();
        let here = node.loc;
        match (step, &mut node.value) {
            (Step::Key(k), Value::Map(m)) => {
                let pos = m.iter().position(|(key, _)| key == k);
                match (pos, last) {
                    (Some(p), true) => {
                        m[p].1.value = value;
                        return Ok(());
                    }
                    (Some(p), false) => node = &mut m[p].1,
                    (None, true) => {
                        m.push((
                            k.clone(),
                            Node {
                                value,
                                loc: here,
                                key: here,
                            },
                        ));
                        return Ok(());
                    }
                    (None, false) => {
                        let keys: Vec<&str> = m.iter().map(|(k, _)| k.as_str()).collect();
                        return Err(format!("no field {k:?} here (fields: {})", keys.join(", ")));
                    }
                }
            }
            (Step::Index(n), Value::Seq(items)) => {
                let len = items.len();
                let Some(item) = items.get_mut(*n) else {
                    return Err(format!("[{n}] is past the end of a list of {len}"));
                };
                if last {
                    item.value = value;
                    return Ok(());
                }
                node = item;
            }
            (Step::Key(k), v) => {
                return Err(format!(
                    "{k:?}: the value here is {}, not a mapping",
                    v.type_name()
                ));
            }
            (Step::Index(n), v) => {
                return Err(format!(
                    "[{n}]: the value here is {}, not a list",
                    v.type_name()
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::raw::parse_file;

    const FILE: &str = "apiVersion: meshsim.dev/v1alpha1\nkind: Load\nmetadata: {name: web}\nspec:\n  target: http://web:80/\n  open: {rate: 50}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web.v1, namespace: prod}\nspec:\n  template: {}\n";

    fn files() -> Vec<(String, Vec<Document>)> {
        vec![("f.yaml".into(), parse_file(FILE).0)]
    }

    fn get<'a>(n: &'a Node, path: &[&str]) -> Option<&'a Value> {
        let mut n = n;
        for k in path {
            let Value::Map(m) = &n.value else { return None };
            n = &m.iter().find(|(key, _)| key == k)?.1;
        }
        Some(&n.value)
    }

    #[test]
    fn sets_replace_and_add_fields_keeping_their_place() {
        let mut f = files();
        let sets: Vec<SetArg> = [
            "Load/web.spec.open.rate=200",
            "deployment/prod/web.v1.spec.replicas=3",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        assert!(apply(&mut f, &sets, "default").is_empty());
        let load = &f[0].1[0].root;
        assert_eq!(get(load, &["spec", "open", "rate"]), Some(&Value::Int(200)));
        let dep = &f[0].1[1].root;
        assert_eq!(get(dep, &["spec", "replicas"]), Some(&Value::Int(3)));
        // The replaced value keeps its line (errors point at the file).
        let Value::Map(m) = &load.value else { panic!() };
        let spec = &m.iter().find(|(k, _)| k == "spec").unwrap().1;
        let Value::Map(s) = &spec.value else { panic!() };
        let open = &s.iter().find(|(k, _)| k == "open").unwrap().1;
        assert_eq!(open.loc.line, 6);
    }

    #[test]
    fn wrong_addresses_say_what_exists() {
        let table = [
            (
                "Lod/web.spec.open.rate=1",
                "no object of kind \"Lod\" (kinds: Deployment, Load)",
            ),
            ("Load/webb.spec.open.rate=1", "Loads: default/web"),
            (
                "Load/web.spec.closed.rate=1",
                "spec.closed.rate: no field \"closed\" here (fields: target, open)",
            ),
            (
                "Deployment/default/web.v1.spec.replicas=1",
                "Deployments: prod/web.v1",
            ),
            ("Load/web.spec.target[0]=1", "not a list"),
        ];
        for (arg, want) in table {
            let mut f = files();
            let errs = apply(&mut f, &[arg.parse().unwrap()], "default");
            assert_eq!(errs.len(), 1, "{arg}");
            assert!(errs[0].1.contains(want), "{arg}: {}", errs[0].1);
        }
        assert!("Load/web".parse::<SetArg>().is_err());
        assert!("web.spec.rate=1".parse::<SetArg>().is_err());
    }

    #[test]
    fn field_paths_read_indices_and_quotes() {
        assert_eq!(
            field_path("spec.script[0].compute").unwrap(),
            vec![
                Step::Key("spec".into()),
                Step::Key("script".into()),
                Step::Index(0),
                Step::Key("compute".into())
            ]
        );
        assert_eq!(
            field_path("metadata.annotations.\"a.b/c\"").unwrap()[2],
            Step::Key("a.b/c".into())
        );
        assert!(field_path("spec..x").is_err());
        assert!(field_path("spec[x]").is_err());
    }
}
