//! See tests/main.rs for what this module covers.

use crate::common;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn scratch(test: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("meshsim-sharded-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn meshsim(dir: &Path, args: &[&str], env: Option<(&str, &str)>) -> Output {
    let mut c = Command::new(common::bin());
    c.args(args)
        .current_dir(dir)
        .env_remove("JOB_COMPLETION_INDEX");
    if let Some((k, v)) = env {
        c.env(k, v);
    }
    c.output().expect("run meshsim")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn same_files(a: &Path, b: &Path) {
    for f in ["sweep.csv", "sweep.json", "sweep.svg"] {
        let x = std::fs::read(a.join(f)).unwrap();
        let y = std::fs::read(b.join(f)).unwrap();
        assert!(x == y, "{f} differs: {} vs {}", a.display(), b.display());
    }
}

/// A sweep with a mesh, pod kills (pod events, endpoint changes) and failed
/// requests (failure chains): every part of a replication's outcome travels.
const SWEEP: [&str; 9] = [
    "sweep",
    "pod-kill-mesh",
    "--param",
    "Load/users.spec.open.rate=100,150,200",
    "--replications",
    "2",
    "--assert",
    "loads.users.error_rate < 0.08%",
    "--quiet",
];

/// Issue #13.7: 3 shards merged = the unsharded sweep, byte for byte (also
/// 8 shards for 6 runs: two shards hold none); missing, duplicate and
/// foreign partials are refused by name.
#[test]
fn shards_merge_into_the_unsharded_sweep_byte_for_byte() {
    let d = scratch("merge");
    let src = common::root().join("scenarios/chaos/pod-kill-mesh");
    let scen = d.join("pod-kill-mesh");
    std::fs::create_dir_all(&scen).unwrap();
    for f in ["app.yaml", "podchaos.yaml"] {
        std::fs::copy(src.join(f), scen.join(f)).unwrap();
    }
    let sweep = |extra: &[&str]| {
        let mut a = SWEEP.to_vec();
        a.extend_from_slice(extra);
        let o = meshsim(&d, &a, None);
        assert_eq!(o.status.code(), Some(0), "{extra:?}: {}", text(&o.stderr));
        o
    };
    sweep(&["--out", "full"]);
    let csv = std::fs::read_to_string(d.join("full/sweep.csv")).unwrap();
    // Failures happened (pods were killed) and the assertion splits the grid.
    assert!(
        csv.contains("\n150,users,27043,26957,25,0.000927,"),
        "{csv}"
    );
    assert!(csv.contains(",true,false\n") && csv.contains(",false,false\n"));
    for i in 0..3 {
        let o = meshsim(
            &d,
            &[
                &SWEEP[..8],
                &["--shard", &format!("{i}/3"), "--out", "parts"],
            ]
            .concat(),
            None,
        );
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        let out = text(&o.stdout);
        assert!(
            out.starts_with(&format!(
                "shard {i} of 3: 2 of the sweep's 6 runs; wrote parts"
            )),
            "{out}"
        );
    }
    let merge = |args: &[&str]| meshsim(&d, &[&["merge"], args].concat(), None);
    let o = merge(&["parts", "-o", "merged", "--quiet"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    same_files(&d.join("full"), &d.join("merged"));
    // More shards than runs: the empty shards merge too.
    for i in 0..8 {
        sweep(&["--shard", &format!("{i}/8"), "--out", "parts8"]);
    }
    let o = merge(&["parts8", "-o", "merged8", "--quiet"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    same_files(&d.join("full"), &d.join("merged8"));

    // Refusals: exit 1, nothing written.
    let o = merge(&[
        "parts/shard-0-of-3.json",
        "parts/shard-2-of-3.json",
        "-o",
        "bad",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        text(&o.stderr),
        "error: missing shard(s) 1 of 3; merge needs all of them (0 … 2)\n"
    );
    std::fs::copy(d.join("parts/shard-1-of-3.json"), d.join("again.json")).unwrap();
    let o = merge(&["parts", "again.json", "-o", "bad"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        text(&o.stderr),
        "error: shard 1 of 3 is given twice: parts/shard-1-of-3.json and again.json\n"
    );
    let o = merge(&["parts/shard-0-of-3.json", "parts8", "-o", "bad"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains(
            "parts8/shard-0-of-8.json is shard 0 of 8, but parts/shard-0-of-3.json is of 3"
        ),
        "{}",
        text(&o.stderr)
    );
    // Another sweep (one more replication): a different scenario hash.
    let o = meshsim(
        &d,
        &[
            "sweep",
            "pod-kill-mesh",
            "--param",
            "Load/users.spec.open.rate=100,150,200",
            "--replications",
            "3",
            "--shard",
            "1/3",
            "--out",
            "other",
            "--quiet",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let o = merge(&[
        "parts/shard-0-of-3.json",
        "other/shard-1-of-3.json",
        "parts/shard-2-of-3.json",
        "-o",
        "bad",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert!(
        err.starts_with("error: other/shard-1-of-3.json is from a different sweep than parts/shard-0-of-3.json (scenario hash "),
        "{err}"
    );
    // An edited partial no longer hashes to its scenario hash.
    let p = std::fs::read_to_string(d.join("parts/shard-2-of-3.json")).unwrap();
    assert!(p.starts_with("{\"format\":\"meshsim-sweep-partial\",\"version\":2,"));
    std::fs::write(
        d.join("edited.json"),
        p.replacen("\"replications\":2", "\"replications\":5", 1),
    )
    .unwrap();
    let o = merge(&["edited.json", "-o", "bad"]);
    assert_eq!(
        text(&o.stderr),
        "error: edited.json: damaged partial: its sweep input does not hash to its scenario_hash (edited?)\n"
    );
    std::fs::write(
        d.join("future.json"),
        p.replacen("\"version\":2,", "\"version\":3,", 1),
    )
    .unwrap();
    let o = merge(&["future.json", "-o", "bad"]);
    assert_eq!(
        text(&o.stderr),
        "error: future.json: partial format version 3, this meshsim reads version 2; merge with the meshsim that wrote it\n"
    );
    assert!(!d.join("bad").exists());
    // The index from the environment, as in an Indexed Job's pod.
    let a = [
        &SWEEP[..8],
        &["--shard", "JOB_COMPLETION_INDEX/3", "--out", "env"],
    ]
    .concat();
    let o = meshsim(&d, &a, None);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("JOB_COMPLETION_INDEX is not set"));
    let o = meshsim(&d, &a, Some(("JOB_COMPLETION_INDEX", "2")));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(
        std::fs::read(d.join("env/shard-2-of-3.json")).unwrap(),
        p.as_bytes()
    );
}

fn yaml_docs(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    serde_saphyr::from_multiple::<Value>(&text).unwrap()
}

fn job<'a>(docs: &'a [Value], name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == "Job" && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no Job {name}"))
}

/// The container's args, with the pod's mount points moved under `root`.
fn local_args(job: &Value, root: &Path) -> Vec<String> {
    let c = &job["spec"]["template"]["spec"]["containers"][0];
    let mounts: Vec<String> = c["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["mountPath"].as_str().unwrap().to_string())
        .collect();
    c["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let a = a.as_str().expect("args are strings").to_string();
            match mounts.iter().find(|m| a.starts_with(m.as_str())) {
                Some(m) => root
                    .join(m.trim_start_matches('/'))
                    .join(a[m.len()..].trim_start_matches('/'))
                    .display()
                    .to_string(),
                None => a,
            }
        })
        .collect()
}

/// deploy/kubernetes/sharded-sweep: meshsim validates both manifests; the
/// Job is Indexed with `--shard JOB_COMPLETION_INDEX/N` for its N
/// completions; its very args, run once per index with the variable set as
/// Kubernetes sets it (the ConfigMap's files at /scenario, the volume at
/// /results, both moved under a scratch folder), then the merge Job's args,
/// give the unsharded sweep's files byte for byte.
#[test]
fn the_indexed_job_manifest_runs_locally_and_merges() {
    let dir = common::root().join("deploy/kubernetes/sharded-sweep");
    let d = scratch("job");
    for (f, objects) in [
        (
            "sweep-job.yaml",
            "2 objects not simulated)\n  not simulated — no traffic effect: 1 Job, 1 PersistentVolumeClaim\n",
        ),
        (
            "merge-job.yaml",
            "1 objects not simulated)\n  not simulated — no traffic effect: 1 Job\n",
        ),
    ] {
        let p = dir.join(f);
        let o = meshsim(&d, &["validate", p.to_str().unwrap()], None);
        assert_eq!(o.status.code(), Some(0), "{f}: {}", text(&o.stderr));
        let out = text(&o.stdout);
        assert!(out.ends_with(objects), "{f}: {out}");
    }
    let docs = yaml_docs(&dir.join("sweep-job.yaml"));
    let shards = job(&docs, "meshsim-sweep");
    assert_eq!(shards["spec"]["completionMode"], "Indexed");
    let n = shards["spec"]["completions"].as_u64().unwrap();
    assert_eq!(n, 4);
    let args = local_args(shards, &d);
    let at = args.iter().position(|a| a == "--shard").unwrap();
    assert_eq!(args[at + 1], format!("JOB_COMPLETION_INDEX/{n}"));
    // What `kubectl create configmap meshsim-scenario --from-file=…` mounts.
    let scen = d.join("scenario");
    std::fs::create_dir_all(&scen).unwrap();
    let src = common::root().join("scenarios/examples/bookinfo-mesh");
    for e in std::fs::read_dir(&src).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, scen.join(p.file_name().unwrap())).unwrap();
    }
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    for i in 0..n {
        let o = meshsim(&d, &argv, Some(("JOB_COMPLETION_INDEX", &i.to_string())));
        assert_eq!(o.status.code(), Some(0), "index {i}: {}", text(&o.stderr));
    }
    let merge_docs = yaml_docs(&dir.join("merge-job.yaml"));
    let margs = local_args(job(&merge_docs, "meshsim-merge"), &d);
    let margv: Vec<&str> = margs.iter().map(String::as_str).collect();
    assert_eq!(margv[0], "merge");
    let o = meshsim(&d, &margv, None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    // The same sweep on one machine: the Job's args without --shard.
    let mut one: Vec<&str> = argv.clone();
    one.drain(at..at + 2);
    let out = one.iter().position(|a| *a == "--out").unwrap();
    one[out + 1] = "one";
    let o = meshsim(&d, &one, None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    same_files(&d.join("one"), &d.join("results/sweep"));
    // The answer the manifest's comment promises: 250 rps passes, 300 does not.
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("one/sweep.json")).unwrap()).unwrap();
    let passed: Vec<(&str, bool)> = json["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["value"].as_str().unwrap(), p["passed"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        passed,
        [
            ("100", true),
            ("150", true),
            ("200", true),
            ("250", true),
            ("300", false),
            ("350", false)
        ]
    );
}

/// Every file of report folder `a` is in `b` with the same bytes, and no other.
fn same_report(a: &Path, b: &Path) -> Vec<String> {
    let names = |d: &Path| {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let files = names(a);
    assert_eq!(files, names(b), "{} vs {}", a.display(), b.display());
    for f in &files {
        let x = std::fs::read(a.join(f)).unwrap();
        let y = std::fs::read(b.join(f)).unwrap();
        assert!(x == y, "{f} differs: {} vs {}", a.display(), b.display());
    }
    files
}

/// A run with pod kills, failures, per-replication assertions (intervals
/// on the replications) and every output made from outcomes.
const RUN: [&str; 12] = [
    "run",
    "pod-kill-mesh",
    "--replications",
    "6",
    "--percentile-ci",
    "--hgrm",
    "--fortio",
    "--assert",
    "loads.users.error_rate < 0.08%",
    "--assert",
    "loads.users.latency_ms.p99 < 1ms",
    "--percentiles=50,99.9",
];

/// `run --shard I/N` + `merge`: 3 shards of a 6-replication run give the
/// unsharded run's report folder (every file), terminal output and exit
/// status byte for byte; missing, duplicate and foreign partials are
/// refused as a sweep's are; options whose output is not made from the
/// outcomes are refused with --shard.
#[test]
fn run_shards_merge_into_the_unsharded_run_byte_for_byte() {
    let d = scratch("run");
    let src = common::root().join("scenarios/chaos/pod-kill-mesh");
    let scen = d.join("pod-kill-mesh");
    std::fs::create_dir_all(&scen).unwrap();
    for f in ["app.yaml", "podchaos.yaml"] {
        std::fs::copy(src.join(f), scen.join(f)).unwrap();
    }
    let run = |extra: &[&str]| meshsim(&d, &[&RUN[..], extra].concat(), None);
    let full = run(&["--out", "full"]);
    // The p99 assertion fails: exit 3, as the merge must give too.
    assert_eq!(full.status.code(), Some(3), "{}", text(&full.stderr));
    for i in 0..3 {
        let o = run(&["--shard", &format!("{i}/3"), "--out", "parts"]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        assert_eq!(
            text(&o.stdout),
            format!(
                "shard {i} of 3: 2 of the run's 6 replications; wrote parts/shard-{i}-of-3.json\n"
            )
        );
    }
    let merge = |args: &[&str]| meshsim(&d, &[&["merge"], args].concat(), None);
    let merged = merge(&["parts", "-o", "merged"]);
    assert_eq!(merged.status.code(), Some(3), "{}", text(&merged.stderr));
    let files = same_report(&d.join("full"), &d.join("merged"));
    assert_eq!(
        files,
        [
            "index.html",
            "latency.svg",
            "propagation.dot",
            "propagation.svg",
            "summary.json",
            "timeline.csv",
            "timeline.svg",
            "users.fortio.json",
            "users.hgrm"
        ]
    );
    assert_eq!(
        text(&full.stdout).replace("full/", "X/"),
        text(&merged.stdout).replace("merged/", "X/")
    );
    // The intervals are the replications': the summary has them.
    let summary = std::fs::read_to_string(d.join("merged/summary.json")).unwrap();
    assert!(summary.contains("\"p999_ci95\": ["), "{summary}");
    assert!(text(&merged.stdout).contains("95 % CI ["));

    // Refusals: exit 1, nothing written.
    let o = merge(&[
        "parts/shard-2-of-3.json",
        "parts/shard-0-of-3.json",
        "-o",
        "bad",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        text(&o.stderr),
        "error: missing shard(s) 1 of 3; merge needs all of them (0 … 2)\n"
    );
    std::fs::copy(d.join("parts/shard-1-of-3.json"), d.join("again.json")).unwrap();
    let o = merge(&["parts", "again.json", "-o", "bad"]);
    assert_eq!(
        text(&o.stderr),
        "error: shard 1 of 3 is given twice: parts/shard-1-of-3.json and again.json\n"
    );
    // Another run (one replication fewer): a different scenario hash.
    let mut other = RUN.to_vec();
    other[3] = "5";
    other.extend(["--shard", "1/3", "--out", "other"]);
    let o = meshsim(&d, &other, None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let o = merge(&[
        "parts/shard-0-of-3.json",
        "other/shard-1-of-3.json",
        "parts/shard-2-of-3.json",
        "-o",
        "bad",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert!(
        err.starts_with("error: other/shard-1-of-3.json is from a different run than parts/shard-0-of-3.json (scenario hash "),
        "{err}"
    );
    // A sweep's partial among a run's is not one of them.
    let o = meshsim(
        &d,
        &[
            "sweep",
            "pod-kill-mesh",
            "--param",
            "Load/users.spec.open.rate=100",
            "--replications",
            "1",
            "--duration",
            "20s",
            "--shard",
            "0/1",
            "--out",
            "sweepparts",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let o = merge(&["parts/shard-0-of-3.json", "sweepparts", "-o", "bad"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        text(&o.stderr),
        "error: sweepparts/shard-0-of-1.json: not a meshsim run partial (format \"meshsim-sweep-partial\", expected \"meshsim-run-partial\")\n"
    );
    assert!(!d.join("bad").exists());
    // Options not made from the outcomes: usage error before simulating.
    for (opt, why) in [
        (
            &["--trace", "users"][..],
            "--trace (it replays replication 0)",
        ),
        (&["--istio-metrics"][..], "--istio-metrics/--istio-csv"),
        (&["--check-determinism"][..], "--check-determinism"),
    ] {
        let o = run(&[opt, &["--shard", "0/3", "--out", "refused"]].concat());
        assert_eq!(o.status.code(), Some(2), "{opt:?}");
        let err = text(&o.stderr);
        assert!(
            err.starts_with(&format!("error: --shard: {why}")),
            "{opt:?}: {err}"
        );
    }
    assert!(!d.join("refused").exists());
}
