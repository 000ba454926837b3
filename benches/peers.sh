#!/usr/bin/env bash
# meshsim's M/M/4 next to the bare Rust kernel of ../shared/peers/rust_des_bench,
# in one run, interleaved (kernel, meshsim, kernel, meshsim, …) so that load from
# other processes hits both alike; reports customers/s of both, the ratio per
# pair and the median ratio. Optionally SimPy (--with-simpy) for the ×SimPy figure.
#
#   benches/peers.sh [--runs N] [--with-simpy] [--no-save]
#
# Kernel: `rust_des_bench mmc 1000000 1` (1 M customers, seed 1); its `wall` is
# the event loop only. meshsim: `meshsim run scenarios/queueing/mm4.yaml --timing`
# (seed 1, 282 000 s ≈ 1.016 M customers); its `wall_s` is World::new + the event
# loop + the merge, without YAML loading or report writing. Both take 2 events
# per customer (arrival, completion), so meshsim's customers = events / 2
# (± the in-flight ones and the one warm-up-end event).
#
# ../shared is read-only: the kernel is built with CARGO_TARGET_DIR in /tmp
# (PEERS_TARGET to change it). Results go to benches/results/ (not ../shared).
# Not part of CI (.ci/run): timing tests would be flaky on shared machines.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
peers="${PEERS_DIR:-$here/../shared/peers}"
peers="$(cd "$peers" && pwd)"
runs=5
with_simpy=0
save=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --runs) runs="$2"; shift 2 ;;
        --with-simpy) with_simpy=1; shift ;;
        --no-save) save=0; shift ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
customers=1000000
seed=1

work="$(mktemp -d /tmp/meshsim-peers.XXXXXX)"
trap 'rm -rf "$work"' EXIT
target="${PEERS_TARGET:-/tmp/meshsim-peers-target}"

echo "== building the bare kernel (CARGO_TARGET_DIR=$target)" >&2
CARGO_TARGET_DIR="$target" cargo build --release --quiet \
    --manifest-path "$peers/rust_des_bench/Cargo.toml"
kernel="$target/release/rust_des_bench"
echo "== building meshsim --release" >&2
(cd "$here" && cargo build --release --quiet --bin meshsim)
meshsim="${CARGO_TARGET_DIR:-$here/target}/release/meshsim"
scenario="$here/scenarios/queueing/mm4.yaml"

# field NAME LINE: value of NAME=... in LINE.
field() { sed -n "s|.*[ :]$1=\([^ ]*\).*|\1|p" <<<"$2" | head -n1 | tr -d 's,'; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

out="$work/report.txt"
{
    echo "# meshsim vs bare kernel, M/M/4 (λ=3.6, μ=1, c=4), seed $seed"
    echo "# date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "# machine: $(nproc) cores; $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1); $(uname -sr)"
    echo "# rustc:   $(rustc --version)"
    echo "# commit:  $(git -C "$here" rev-parse --short HEAD)$(git -C "$here" diff --quiet HEAD -- sim Cargo.toml Cargo.lock || echo '+dirty')"
    echo "# loadavg before: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "# runs interleaved kernel/meshsim: $runs"
    printf '%-4s %12s %14s %12s %14s %14s %8s\n' pair kernel_wall kernel_cust/s mesh_wall mesh_cust/s mesh_events/s ratio
} >"$out"
cat "$out"

ratios="$work/ratios"; kc="$work/kc"; mc="$work/mc"; me="$work/me"
: >"$ratios"; : >"$kc"; : >"$mc"; : >"$me"
for ((i = 1; i <= runs; i++)); do
    "$kernel" mmc "$customers" "$seed" >"$work/kernel.txt"
    kline="$(head -n1 "$work/kernel.txt")"
    kwall="$(field wall "$kline")"
    kcps="$(field customers/s "$kline")"
    "$meshsim" run "$scenario" --seed "$seed" --out "$work/mm4" --quiet --timing 2>"$work/mesh.err"
    mline="$(grep '^timing:' "$work/mesh.err")"
    mwall="$(field wall_s "$mline")"
    mev="$(field events "$mline")"
    measured="$(field measured "$mline")"
    mcust=$((mev / 2))
    mcps="$(awk -v c="$mcust" -v w="$mwall" 'BEGIN {printf "%.0f", c / w}')"
    meps="$(awk -v c="$mev" -v w="$mwall" 'BEGIN {printf "%.0f", c / w}')"
    ratio="$(awk -v a="$mcps" -v b="$kcps" 'BEGIN {printf "%.3f", a / b}')"
    echo "$ratio" >>"$ratios"; echo "$kcps" >>"$kc"; echo "$mcps" >>"$mc"; echo "$meps" >>"$me"
    printf '%-4s %11.3fs %14s %11.3fs %14s %14s %8s\n' "$i" "$kwall" "$kcps" "$mwall" "$mcps" "$meps" "$ratio" | tee -a "$out"
done

k_med="$(median <"$kc")"; m_med="$(median <"$mc")"; e_med="$(median <"$me")"
r_med="$(median <"$ratios")"
r_min="$(sort -g "$ratios" | head -n1)"; r_max="$(sort -g "$ratios" | tail -n1)"
{
    echo
    echo "meshsim simulated: $mev events, ~$mcust customers (events/2), $measured requests in the measurement window"
    printf 'median customers/s: kernel %.2f M, meshsim %.2f M (meshsim %.2f M events/s, %.1f ns/event)\n' \
        "$(awk -v x="$k_med" 'BEGIN{print x/1e6}')" "$(awk -v x="$m_med" 'BEGIN{print x/1e6}')" \
        "$(awk -v x="$e_med" 'BEGIN{print x/1e6}')" "$(awk -v x="$e_med" 'BEGIN{print 1e9/x}')"
    echo "ratio meshsim/kernel: median $r_med (min $r_min, max $r_max over $runs pairs; target >= 0.5)"
} | tee -a "$out"

if [[ $with_simpy == 1 ]]; then
    venv="${SIMPY_VENV:-/tmp/meshsim-simpy-venv}"
    if [[ ! -x "$venv/bin/python" ]]; then
        echo "== creating $venv with $(grep -i '^simpy' "$peers/requirements.txt")" >&2
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet "$(grep -i '^simpy' "$peers/requirements.txt")"
    fi
    # One SimPy run (≈ 10 s) between two meshsim runs; ratio against their mean.
    "$meshsim" run "$scenario" --seed "$seed" --out "$work/mm4" --quiet --timing 2>"$work/mesh1.err"
    sline="$(cd "$peers" && "$venv/bin/python" simpy_models.py mmc "$customers" "$seed" | grep '^simpy mmc')"
    "$meshsim" run "$scenario" --seed "$seed" --out "$work/mm4" --quiet --timing 2>"$work/mesh2.err"
    scps="$(field customers/s "$sline")"
    w1="$(field wall_s "$(grep '^timing:' "$work/mesh1.err")")"
    w2="$(field wall_s "$(grep '^timing:' "$work/mesh2.err")")"
    mcps2="$(awk -v c="$mcust" -v a="$w1" -v b="$w2" 'BEGIN {printf "%.0f", c / ((a + b) / 2)}')"
    {
        echo "simpy: $sline"
        printf 'meshsim/SimPy: %.1fx (meshsim %s customers/s around it, SimPy %s; target >= 40x)\n' \
            "$(awk -v a="$mcps2" -v b="$scps" 'BEGIN{print a/b}')" "$mcps2" "$scps"
    } | tee -a "$out"
fi

echo "# loadavg after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out"
if [[ $save == 1 ]]; then
    mkdir -p "$here/benches/results"
    dest="$here/benches/results/peers_$(date -u +%Y%m%dT%H%M%SZ).txt"
    cp "$out" "$dest"
    echo "wrote ${dest#"$here"/}" >&2
fi
