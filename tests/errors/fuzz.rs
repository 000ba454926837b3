//! Fuzzing the loader.
//!
//! No nightly toolchain, so no cargo-fuzz: a deterministic in-repo mutator over
//! the seed files and a few scenarios. Every mutant must load or fail with
//! well-formed located errors; a panic fails the test with the input that
//! caused it.

use super::*;

/// splitmix64: a tiny deterministic generator (the test needs no statistics).
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

const SCALARS: &[&str] = &[
    "[]",
    "{}",
    "[1, 2]",
    "{a: 1}",
    "-1",
    "-0.5",
    "0",
    "1e308",
    "1e12",
    "-1e12",
    "99999999999999999999999",
    "18446744073709551616",
    "-9223372036854775808",
    "0x7fffffffffffffff",
    ".nan",
    ".inf",
    "-.inf",
    "~",
    "null",
    "\"\"",
    "''",
    "true",
    "no",
    "1.5",
    "-5s",
    "0s",
    "999999999999h",
    "1ns",
    "10s",
    "\"10\"",
    "http://",
    "http://:80/",
    "http://web:0/",
    "http://web:99999/",
    "a.b.c.d",
    "!!binary aGVsbG8=",
    "!!str 12",
    "!!int x",
    "&x 5",
    "*x",
    "*nowhere",
    "|\n    block\n",
    ">-\n    folded\n",
    "{constant: 1ms}",
    "{exponential: {mean: 0s}}",
    "{empirical: {0: 5ms, 100: 1ms}}",
    "{lognormal: {mean: 1s, cv: -1}}",
    "[{call: {host: web}}, {parallel: [[{compute: {constant: 1ms}}], {call: {host: web, maxDepth: 1000}}]}]",
    "\u{0}",
    "\u{feff}",
    "é",
];

const BYTES: &[u8] = b":-{}[],\"'&*!#|>%@`\t\n \\?0123456789.eE+-_x";

fn nested(g: &mut Gen) -> String {
    let depth = 1 + g.below(80);
    if g.below(2) == 0 {
        format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
    } else {
        format!("{}1{}", "{a: ".repeat(depth), "}".repeat(depth))
    }
}

fn alias_bomb(g: &mut Gen) -> String {
    let width = 2 + g.below(9);
    let levels = 1 + g.below(4);
    let mut s =
        String::from("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\ndata:\n");
    s.push_str(&format!("  l0: &l0 [{}]\n", vec!["lol"; width].join(", ")));
    for i in 1..=levels {
        let refs = vec![format!("*l{}", i - 1); width].join(", ");
        s.push_str(&format!("  l{i}: &l{i} [{refs}]\n"));
    }
    s
}

/// One mutation of `text`.
fn mutate(text: &str, g: &mut Gen) -> String {
    let mut b = text.as_bytes().to_vec();
    let lines: Vec<&str> = text.lines().collect();
    let n = lines.len().max(1);
    match g.below(40) {
        0 | 30..=33 => {
            // Flip a few bytes.
            for _ in 0..1 + g.below(4) {
                if b.is_empty() {
                    break;
                }
                let i = g.below(b.len());
                b[i] = if g.below(3) == 0 {
                    g.next() as u8
                } else {
                    BYTES[g.below(BYTES.len())]
                };
            }
            String::from_utf8_lossy(&b).into_owned()
        }
        1 | 34 | 35 => {
            // Truncate.
            let cut = g.below(b.len() + 1);
            String::from_utf8_lossy(&b[..cut]).into_owned()
        }
        2 | 36..=38 => {
            // Delete, duplicate or swap lines.
            let mut ls: Vec<&str> = lines.clone();
            let i = g.below(n);
            match g.below(3) {
                0 if i < ls.len() => {
                    ls.remove(i);
                }
                1 if i < ls.len() => ls.insert(i, ls[i]),
                _ => {
                    let j = g.below(n);
                    if i < ls.len() && j < ls.len() {
                        ls.swap(i, j);
                    }
                }
            }
            ls.join("\n") + "\n"
        }
        3..=17 => {
            // Replace the value of a `key: value` line (or a list item).
            let mut ls: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
            for _ in 0..1 + g.below(3) {
                let i = g.below(n);
                let Some(l) = ls.get(i) else { break };
                let new = match g.below(6) {
                    0 => nested(g),
                    _ => g.pick(SCALARS).to_string(),
                };
                let replaced = if let Some(k) = l.find(": ") {
                    format!("{}: {new}", &l[..k])
                } else if let Some(k) = l.find("- ") {
                    format!("{}- {new}", &l[..k])
                } else {
                    format!("{l} {new}")
                };
                ls[i] = replaced;
            }
            ls.join("\n") + "\n"
        }
        18..=24 => {
            // Misspell a key.
            let mut ls: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
            let i = g.below(n);
            if let Some(l) = ls.get_mut(i)
                && let Some(k) = l.find(':')
                && k > 0
            {
                let j = g.below(k);
                if l.is_char_boundary(j) && l.is_char_boundary(j + 1) {
                    l.replace_range(j..j + 1, "x");
                }
            }
            ls.join("\n") + "\n"
        }
        25..=28 => {
            // Document markers in odd places.
            let mut ls: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
            let i = g.below(n + 1);
            let m = g.pick(&[
                "---",
                "...",
                "--- |",
                "---\n---",
                "%YAML 1.2\n---",
                "--- !!str",
            ]);
            ls.insert(i.min(ls.len()), m.to_string());
            ls.join("\n") + "\n"
        }
        29 => format!("{text}{}", alias_bomb(g)),
        _ => {
            // Indentation damage.
            let mut ls: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
            let i = g.below(n);
            if let Some(l) = ls.get_mut(i) {
                match g.below(3) {
                    0 => l.insert_str(0, "  "),
                    1 => *l = l.trim_start().to_string(),
                    _ => l.insert(0, '\t'),
                }
            }
            ls.join("\n") + "\n"
        }
    }
}

/// The inputs mutated: every seed file and a few complete scenarios.
fn fuzz_bases() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let seed = common::shared().join("seed");
    let mut paths: Vec<_> = std::fs::read_dir(&seed)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    for p in paths {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        out.push((name, std::fs::read_to_string(&p).unwrap()));
    }
    let script = common::server_yaml("web", 2, 4, "x").replace(
        "  serviceTime: x\n",
        "  queue: {limit: 10, fullStatus: 503}\n  errors: {probability: 0.1, status: 500}\n  script:\n  - compute: {lognormal: {mean: 2ms, cv: 0.5}}\n  - call: {host: db, port: 5432, timeout: 1s, retries: 2, onError: continue}\n  - parallel:\n    - [{compute: {constant: 1ms}}]\n    - [{call: {host: db.default.svc.cluster.local, probability: 0.5}}]\n",
    );
    let full = format!(
        "{SIM}---\n{script}---\n{}---\n{LOAD}---\napiVersion: meshsim.dev/v1alpha1\nkind: Load\nmetadata: {{name: batch}}\nspec:\n  target: {{host: web, port: 8080, path: /b}}\n  closed: {{connections: 4, qps: 100, thinkTime: {{exponential: {{mean: 10ms}}}}}}\n  start: 1s\n  stop: 5s\n",
        common::server_yaml("db", 1, 2, "{empirical: {0: 1ms, 50: 2ms, 100: 9ms}}")
            .replace("port: 8080}]", "port: 5432}]")
            .replace("name: http, port: 8080", "name: pg, port: 5432")
    );
    out.push(("scenario.yaml".into(), full));
    // The repository's example scenarios, one folder level deep.
    let mut examples = Vec::new();
    if let Ok(dirs) = std::fs::read_dir(common::root().join("scenarios")) {
        for d in dirs.flatten() {
            for f in std::fs::read_dir(d.path()).into_iter().flatten().flatten() {
                let p = f.path();
                if p.extension().is_some_and(|e| e == "yaml") {
                    examples.push(p);
                }
            }
        }
    }
    examples.sort();
    for p in examples {
        let name = p
            .strip_prefix(common::root())
            .unwrap_or(&p)
            .display()
            .to_string();
        out.push((name, std::fs::read_to_string(&p).unwrap()));
    }
    out
}

/// Mutates every base `per_base` times; returns the number of mutants loaded.
fn fuzz(per_base: usize, seed: u64) -> (usize, usize, usize) {
    let ov = Overrides {
        duration: Some(meshsim::engine::SimDuration::from_millis(500)),
        ..Default::default()
    };
    let (mut total, mut ok, mut failed) = (0, 0, 0);
    for (bi, (name, text)) in fuzz_bases().iter().enumerate() {
        let mut g = Gen(seed ^ (bi as u64).wrapping_mul(0x1000_0000_01b3));
        for i in 0..per_base {
            // Stack mutations now and then, so damage compounds.
            let mut m = mutate(text, &mut g);
            for _ in 0..g.below(3) {
                m = mutate(&m, &mut g);
            }
            let src = [SourceFile {
                path: name.clone(),
                text: m.clone(),
            }];
            let with_ov = i % 2 == 0;
            let none = Overrides::default();
            let r = std::panic::catch_unwind(|| {
                scenario::from_sources("fuzz".into(), &src, if with_ov { &ov } else { &none })
            });
            total += 1;
            match r {
                Err(_) => panic!("loader panicked on mutant {i} of {name}:\n{m}"),
                Ok(Ok(sc)) => {
                    ok += 1;
                    // What validates must run: no panic, no endless loop.
                    if sc.run.duration <= meshsim::engine::SimDuration::from_secs(1)
                        && sc.run.replications <= 2
                        && std::panic::catch_unwind(|| common::run(&sc)).is_err()
                    {
                        panic!("run panicked on mutant {i} of {name}:\n{m}");
                    }
                }
                Ok(Err(LoadError::Invalid(d))) => {
                    failed += 1;
                    assert!(d.has_errors(), "rejected without an error:\n{m}");
                    for e in &d.items {
                        let r = e.to_string();
                        let located = e.origin.file == *name
                            && (e.origin.document == 0 || e.loc.line > 0)
                            && !e.message.is_empty()
                            && !r.contains('\n');
                        // The one unlocated error: no Simulation and no --duration.
                        let scenario_wide = e.origin.file == "(scenario)" && !with_ov;
                        assert!(located || scenario_wide, "badly located: {r}\nin:\n{m}");
                    }
                }
                Ok(Err(e)) => panic!("not a located error: {e}\nin:\n{m}"),
            }
        }
    }
    (total, ok, failed)
}

#[test]
fn fuzz_loader() {
    let (total, ok, failed) = fuzz(500, 0x5EED);
    eprintln!("fuzz: {total} mutants, {ok} loaded, {failed} rejected with located errors");
    assert!(total >= 10_000);
    assert!(
        ok > 100 && failed > 1000,
        "mutations too weak or too strong"
    );
}

/// A longer run: `cargo test --release -- --ignored fuzz_loader_long`.
#[test]
#[ignore]
fn fuzz_loader_long() {
    let (total, ok, failed) = fuzz(20_000, 0xF0CC_AC1A);
    eprintln!("fuzz (long): {total} mutants, {ok} loaded, {failed} rejected with located errors");
}
