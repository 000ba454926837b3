//! A layered (Sugiyama-style) layout of a small directed graph, for meshsim's
//! own drawing of the propagation graph (no system Graphviz needed).
//!
//! Why hand-written: the graphs are small (tens of nodes), the result must be
//! deterministic to the byte, and cycles (A calls B calls A) must not hang.
//! Steps: (1) a depth-first search from the sources (loads) marks back edges,
//! which breaks every cycle; (2) longest-path layering of what is left, so a
//! callee sits below every caller; (3) edges spanning several layers get dummy
//! points, one per layer crossed; (4) barycentre sweeps order each layer, the
//! ordering with the fewest crossings wins; (5) x positions follow the
//! neighbours' mean, packed left and right and averaged, which keeps the
//! minimum spacing; (6) back edges run up on the right of everything they
//! pass, self-loops sit on a box's right side. Labels are placed afterwards,
//! along the routes this returns (`label.rs`).

/// An axis-aligned rectangle by its centre and size.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl Rect {
    pub fn left(&self) -> f64 {
        self.x - self.w / 2.0
    }
    pub fn right(&self) -> f64 {
        self.x + self.w / 2.0
    }
    pub fn top(&self) -> f64 {
        self.y - self.h / 2.0
    }
    pub fn bottom(&self) -> f64 {
        self.y + self.h / 2.0
    }

    /// Whether `self` and `o` overlap, with `pad` of clearance.
    pub fn overlaps(&self, o: &Rect, pad: f64) -> bool {
        (self.x - o.x).abs() * 2.0 < self.w + o.w + 2.0 * pad
            && (self.y - o.y).abs() * 2.0 < self.h + o.h + 2.0 * pad
    }

    /// Where the ray from the centre towards `p` leaves the rectangle.
    pub fn boundary_towards(&self, p: (f64, f64)) -> (f64, f64) {
        let (dx, dy) = (p.0 - self.x, p.1 - self.y);
        if dx == 0.0 && dy == 0.0 {
            return (self.x, self.y);
        }
        let sx = if dx != 0.0 {
            self.w / 2.0 / dx.abs()
        } else {
            f64::INFINITY
        };
        let sy = if dy != 0.0 {
            self.h / 2.0 / dy.abs()
        } else {
            f64::INFINITY
        };
        let s = sx.min(sy);
        (self.x + dx * s, self.y + dy * s)
    }
}

/// What to lay out: node sizes and edges `(from, to)` between node indices.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    pub sizes: Vec<(f64, f64)>,
    pub edges: Vec<(usize, usize)>,
    /// Label size of each edge (may be empty): room is kept for self-loops' labels.
    pub labels: Vec<(f64, f64)>,
    /// Nodes to search from first (the loads): they end up in the top layer.
    pub sources: Vec<usize>,
}

/// How an edge is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Downwards, through one dummy point per layer crossed.
    Down,
    /// Against the layering (closes a cycle): up along the right.
    Back,
    /// From a node to itself.
    SelfLoop,
}

/// An edge's polyline, from the caller's box boundary to the callee's.
#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    pub kind: Kind,
    pub points: Vec<(f64, f64)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    /// Each node's box (same order as `Graph::sizes`).
    pub boxes: Vec<Rect>,
    pub layers: Vec<usize>,
    /// Each edge's route (same order as `Graph::edges`).
    pub routes: Vec<Route>,
    /// Extent of everything drawn (boxes and routes), origin at (0, 0).
    pub width: f64,
    pub height: f64,
}

/// Spacing, in pixels.
pub const H_GAP: f64 = 60.0;
pub const V_GAP: f64 = 150.0;
const DUMMY_W: f64 = 24.0;
const BACK_GAP: f64 = 36.0;
const LOOP: f64 = 26.0;

/// Edges to draw against the layering, so that the rest is acyclic. An edge
/// closes a cycle when its callee reaches its caller; of such edges, those
/// that do not lead further from the sources (breadth-first distance) are
/// reversed: in `gateway → auth → db → auth`, `db → auth` goes back, not
/// `auth → db`. A depth-first pass then catches anything left (none can be,
/// since distances cannot grow all around a cycle; it is cheap insurance).
fn back_edges(n: usize, edges: &[(usize, usize)], sources: &[usize]) -> Vec<bool> {
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(a, b) in edges {
        if a != b {
            out[a].push(b);
        }
    }
    for o in &mut out {
        o.sort();
        o.dedup();
    }
    // Distance from the sources (all at 0); unreachable parts from their first node.
    let mut dist = vec![usize::MAX; n];
    let starts: Vec<usize> = sources.iter().copied().filter(|&r| r < n).collect();
    let bfs = |from: &[usize], dist: &mut Vec<usize>| {
        let mut q: std::collections::VecDeque<usize> = std::collections::VecDeque::new();
        for &r in from {
            if dist[r] == usize::MAX {
                dist[r] = 0;
                q.push_back(r);
            }
        }
        while let Some(v) = q.pop_front() {
            for &w in &out[v] {
                if dist[w] == usize::MAX {
                    dist[w] = dist[v] + 1;
                    q.push_back(w);
                }
            }
        }
    };
    bfs(&starts, &mut dist);
    for r in 0..n {
        if dist[r] == usize::MAX {
            bfs(&[r], &mut dist);
        }
    }
    let reaches = |from: usize, to: usize| {
        let mut seen = vec![false; n];
        let mut stack = vec![from];
        seen[from] = true;
        while let Some(v) = stack.pop() {
            if v == to {
                return true;
            }
            for &w in &out[v] {
                if !seen[w] {
                    seen[w] = true;
                    stack.push(w);
                }
            }
        }
        false
    };
    let mut back: Vec<bool> = edges
        .iter()
        .map(|&(a, b)| a != b && dist[b] <= dist[a] && reaches(b, a))
        .collect();
    // Insurance: a depth-first search over what is left.
    let mut fwd: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
    for (i, &(a, b)) in edges.iter().enumerate() {
        if a != b && !back[i] {
            fwd[a].push((b, i));
        }
    }
    for f in &mut fwd {
        f.sort();
    }
    let mut state = vec![0u8; n]; // 0 new, 1 on the stack, 2 done
    for r in sources.iter().copied().chain(0..n) {
        if r >= n || state[r] != 0 {
            continue;
        }
        let mut stack = vec![(r, 0usize)];
        state[r] = 1;
        while let Some(top) = stack.last_mut() {
            let (v, k) = *top;
            if let Some(&(w, ei)) = fwd[v].get(k) {
                top.1 += 1;
                match state[w] {
                    0 => {
                        state[w] = 1;
                        stack.push((w, 0));
                    }
                    1 => back[ei] = true,
                    _ => {}
                }
            } else {
                state[v] = 2;
                stack.pop();
            }
        }
    }
    back
}

/// Longest-path layers over the forward edges (a DAG once back edges are out).
fn layering(n: usize, forward: &[(usize, usize)]) -> Vec<usize> {
    let mut indeg = vec![0usize; n];
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(a, b) in forward {
        indeg[b] += 1;
        out[a].push(b);
    }
    let mut layer = vec![0usize; n];
    let mut ready: std::collections::BTreeSet<usize> = (0..n).filter(|&v| indeg[v] == 0).collect();
    while let Some(v) = ready.pop_first() {
        for &w in &out[v] {
            layer[w] = layer[w].max(layer[v] + 1);
            indeg[w] -= 1;
            if indeg[w] == 0 {
                ready.insert(w);
            }
        }
    }
    layer
}

/// Crossings between two adjacent layers, given each item's position in its layer.
fn crossings(segs: &[(usize, usize)], pos: &[usize]) -> usize {
    let mut c = 0;
    for (i, &(a, b)) in segs.iter().enumerate() {
        for &(x, y) in &segs[i + 1..] {
            let (pa, pb, px, py) = (pos[a], pos[b], pos[x], pos[y]);
            if (pa < px && pb > py) || (pa > px && pb < py) {
                c += 1;
            }
        }
    }
    c
}

/// Places items of one layer (in order) as near their `want`ed centres as the
/// spacing allows: packed from the left, packed from the right, averaged.
/// `ext`: each item's extent left and right of its centre.
fn pack(want: &[f64], ext: &[(f64, f64)]) -> Vec<f64> {
    let n = want.len();
    let sep = |i: usize| ext[i].1 + ext[i + 1].0 + H_GAP;
    let mut l = want.to_vec();
    for i in 1..n {
        l[i] = l[i].max(l[i - 1] + sep(i - 1));
    }
    let mut r = want.to_vec();
    for i in (0..n.saturating_sub(1)).rev() {
        r[i] = r[i].min(r[i + 1] - sep(i));
    }
    l.iter().zip(&r).map(|(a, b)| (a + b) / 2.0).collect()
}

/// Lays out `g`.
pub fn layout(g: &Graph) -> Layout {
    let n = g.sizes.len();
    let back = back_edges(n, &g.edges, &g.sources);
    let forward: Vec<(usize, usize)> = g
        .edges
        .iter()
        .zip(&back)
        .filter(|((a, b), bk)| a != b && !**bk)
        .map(|(e, _)| *e)
        .collect();
    let layers = layering(n, &forward);
    let depth = layers.iter().copied().max().map_or(0, |d| d + 1);
    // Items: the nodes, then dummy points of long edges.
    let mut item_layer = layers.clone();
    // Extent of each item left and right of its centre; a self-loop and its
    // label take room on the right of their box.
    let mut item_w: Vec<(f64, f64)> = g.sizes.iter().map(|s| (s.0 / 2.0, s.0 / 2.0)).collect();
    for (ei, &(a, b)) in g.edges.iter().enumerate() {
        let label = g.labels.get(ei).map_or(0.0, |l| l.0);
        if a == b {
            item_w[a].1 = item_w[a].1.max(g.sizes[a].0 / 2.0 + LOOP + 10.0 + label);
        } else {
            // Siblings far enough apart for their incoming labels side by side.
            let half = label / 2.0 + 24.0;
            item_w[b] = (item_w[b].0.max(half), item_w[b].1.max(half));
        }
    }
    let mut segs: Vec<(usize, usize)> = Vec::new(); // upper item → lower item
    let mut chain_of_edge: Vec<Vec<usize>> = vec![Vec::new(); g.edges.len()];
    for (ei, &(a, b)) in g.edges.iter().enumerate() {
        if a == b || back[ei] {
            continue;
        }
        let mut chain = vec![a];
        for l in layers[a] + 1..layers[b] {
            item_layer.push(l);
            item_w.push((DUMMY_W / 2.0, DUMMY_W / 2.0));
            chain.push(item_layer.len() - 1);
        }
        chain.push(b);
        for w in chain.windows(2) {
            segs.push((w[0], w[1]));
        }
        chain_of_edge[ei] = chain;
    }
    let items = item_layer.len();
    let mut order: Vec<Vec<usize>> = vec![Vec::new(); depth];
    for (i, &l) in item_layer.iter().enumerate() {
        order[l].push(i);
    }
    let mut pos = vec![0usize; items];
    let reindex = |order: &[Vec<usize>], pos: &mut [usize]| {
        for layer in order {
            for (k, &i) in layer.iter().enumerate() {
                pos[i] = k;
            }
        }
    };
    reindex(&order, &mut pos);
    let mut up: Vec<Vec<usize>> = vec![Vec::new(); items];
    let mut down: Vec<Vec<usize>> = vec![Vec::new(); items];
    for &(a, b) in &segs {
        down[a].push(b);
        up[b].push(a);
    }
    let total_crossings = |pos: &[usize]| crossings(&segs, pos);
    let mut best = (total_crossings(&pos), order.clone());
    for sweep in 0..8 {
        let downward = sweep % 2 == 0;
        let range: Vec<usize> = if downward {
            (1..depth).collect()
        } else {
            (0..depth.saturating_sub(1)).rev().collect()
        };
        for l in range {
            let nb = if downward { &up } else { &down };
            let mut keyed: Vec<(f64, usize, usize)> = order[l]
                .iter()
                .map(|&i| {
                    let bc = if nb[i].is_empty() {
                        pos[i] as f64
                    } else {
                        nb[i].iter().map(|&j| pos[j] as f64).sum::<f64>() / nb[i].len() as f64
                    };
                    (bc, pos[i], i)
                })
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            order[l] = keyed.into_iter().map(|k| k.2).collect();
            reindex(&order, &mut pos);
        }
        let c = total_crossings(&pos);
        if c < best.0 {
            best = (c, order.clone());
        }
    }
    let order = best.1;
    reindex(&order, &mut pos);
    // x: start packed and centred, then follow the neighbours.
    let mut x = vec![0.0f64; items];
    for layer in &order {
        let ws: Vec<(f64, f64)> = layer.iter().map(|&i| item_w[i]).collect();
        let packed = pack(&vec![0.0; layer.len()], &ws);
        for (&i, p) in layer.iter().zip(packed) {
            x[i] = p;
        }
    }
    for sweep in 0..6 {
        let downward = sweep % 2 == 0;
        let range: Vec<usize> = if downward {
            (1..depth).collect()
        } else {
            (0..depth.saturating_sub(1)).rev().collect()
        };
        for l in range {
            let nb = if downward { &up } else { &down };
            let layer = &order[l];
            let want: Vec<f64> = layer
                .iter()
                .map(|&i| {
                    if nb[i].is_empty() {
                        x[i]
                    } else {
                        nb[i].iter().map(|&j| x[j]).sum::<f64>() / nb[i].len() as f64
                    }
                })
                .collect();
            let ws: Vec<(f64, f64)> = layer.iter().map(|&i| item_w[i]).collect();
            for (&i, p) in layer.iter().zip(pack(&want, &ws)) {
                x[i] = p;
            }
        }
    }
    // y: one pitch per layer, boxes centred on their layer's line.
    let row_h = g.sizes.iter().map(|s| s.1).fold(0.0f64, f64::max);
    let y_of = |l: usize| row_h / 2.0 + l as f64 * (row_h + V_GAP);
    let min_x = (0..items)
        .map(|i| x[i] - item_w[i].0)
        .fold(f64::INFINITY, f64::min);
    let shift = if min_x.is_finite() { -min_x } else { 0.0 };
    let boxes: Vec<Rect> = (0..n)
        .map(|i| Rect {
            x: x[i] + shift,
            y: y_of(layers[i]),
            w: g.sizes[i].0,
            h: g.sizes[i].1,
        })
        .collect();
    let point = |i: usize| (x[i] + shift, y_of(item_layer[i]));
    let mut width = (0..items)
        .map(|i| x[i] + shift + item_w[i].1)
        .fold(0.0f64, f64::max);
    let height = if depth == 0 {
        0.0
    } else {
        y_of(depth - 1) + row_h / 2.0
    };
    // Right edge of everything in layers lo..=hi (for back edges to pass).
    let right_of = |lo: usize, hi: usize| {
        (0..items)
            .filter(|&i| (lo..=hi).contains(&item_layer[i]))
            .map(|i| x[i] + shift + item_w[i].1)
            .fold(0.0f64, f64::max)
    };
    let mut lanes = 0.0;
    let mut routes = Vec::with_capacity(g.edges.len());
    for (ei, &(a, b)) in g.edges.iter().enumerate() {
        let (ra, rb) = (boxes[a], boxes[b]);
        let route = if a == b {
            let (r, y) = (ra.right(), ra.y);
            width = width.max(r + LOOP + 4.0);
            Route {
                kind: Kind::SelfLoop,
                points: vec![
                    (r, y - 8.0),
                    (r + LOOP, y - 8.0),
                    (r + LOOP, y + 8.0),
                    (r, y + 8.0),
                ],
            }
        } else if back[ei] {
            lanes += 1.0;
            let lane = right_of(layers[b], layers[a]) + lanes * BACK_GAP;
            width = width.max(lane + 4.0);
            Route {
                kind: Kind::Back,
                points: vec![
                    (ra.right(), ra.y),
                    (lane, ra.y),
                    (lane, rb.y),
                    (rb.right(), rb.y),
                ],
            }
        } else {
            let chain = &chain_of_edge[ei];
            let mut pts: Vec<(f64, f64)> = chain.iter().map(|&i| point(i)).collect();
            let last = pts.len() - 1;
            pts[0] = ra.boundary_towards(pts[1]);
            pts[last] = rb.boundary_towards(pts[last - 1]);
            Route {
                kind: Kind::Down,
                points: pts,
            }
        };
        routes.push(route);
    }
    Layout {
        boxes,
        layers,
        routes,
        width,
        height,
    }
}

#[cfg(test)]
mod tests {
    use super::super::label::{Segment, crosses, place_label};
    use super::*;

    fn graph(n: usize, edges: &[(usize, usize)]) -> Graph {
        Graph {
            sizes: vec![(120.0, 40.0); n],
            edges: edges.to_vec(),
            labels: Vec::new(),
            sources: vec![0],
        }
    }

    #[test]
    fn callees_sit_below_their_callers() {
        // 0 → 1 → 2 → 3, 1 → 4, 0 → 3 (a long edge).
        let l = layout(&graph(5, &[(0, 1), (1, 2), (2, 3), (1, 4), (0, 3)]));
        assert_eq!(l.layers, vec![0, 1, 2, 3, 2]);
        for r in &l.routes {
            assert_eq!(r.kind, Kind::Down);
            for w in r.points.windows(2) {
                assert!(w[1].1 > w[0].1, "downwards: {:?}", r.points);
            }
        }
        // The long edge passes two layers: two dummy points.
        assert_eq!(l.routes[4].points.len(), 4);
        // No two boxes overlap.
        for (i, a) in l.boxes.iter().enumerate() {
            for b in &l.boxes[i + 1..] {
                assert!(!a.overlaps(b, 0.0), "{a:?} {b:?}");
            }
        }
        assert!(
            l.boxes
                .iter()
                .all(|b| b.left() >= 0.0 && b.right() <= l.width)
        );
    }

    #[test]
    fn cycles_and_self_loops_terminate_and_route_up() {
        // 0 → 1 → 2 → 1 (a cycle), 2 → 2, and 3 ↔ 4 unreachable from the source.
        let l = layout(&graph(5, &[(0, 1), (1, 2), (2, 1), (2, 2), (3, 4), (4, 3)]));
        assert_eq!(l.layers[..3], [0, 1, 2]);
        assert_eq!(l.routes[2].kind, Kind::Back);
        assert_eq!(l.routes[3].kind, Kind::SelfLoop);
        let kinds: Vec<Kind> = l.routes[4..].iter().map(|r| r.kind).collect();
        assert_eq!(kinds, vec![Kind::Down, Kind::Back]);
        // The back edge runs right of both boxes it joins.
        let lane = l.routes[2].points[1].0;
        assert!(lane > l.boxes[1].right() && lane > l.boxes[2].right());
        assert!(lane <= l.width);
    }

    #[test]
    fn the_edge_back_towards_the_sources_closes_a_cycle() {
        // 0 → 1 → 2 → 3 → 4 → 2 and 1 → 4: depth-first from 0 would reach
        // 4 through 3 and send `4 → 2` back; so does the distance rule, and
        // `1 → 4` stays a downward edge.
        let l = layout(&graph(5, &[(0, 1), (1, 2), (2, 3), (3, 4), (4, 2), (1, 4)]));
        assert_eq!(l.routes[4].kind, Kind::Back);
        // gateway(1) → auth(2) → db(3) → auth, gateway → pp(4) → ratings(5) → db:
        // depth-first from pp's side would send `auth → db` back and put auth
        // at the bottom; by distance, `db → auth` goes back.
        let l = layout(&graph(
            6,
            &[(0, 1), (1, 4), (4, 5), (5, 3), (3, 2), (1, 2), (2, 3)],
        ));
        let kinds: Vec<Kind> = l.routes.iter().map(|r| r.kind).collect();
        assert_eq!(kinds[4], Kind::Back, "{kinds:?}");
        assert_eq!(kinds[6], Kind::Down);
        assert_eq!(l.layers[2], 2, "auth right under the gateway");
    }

    #[test]
    fn a_self_loop_and_its_label_get_room() {
        let g = Graph {
            sizes: vec![(100.0, 30.0); 3],
            edges: vec![(0, 1), (0, 2), (1, 1)],
            labels: vec![(0.0, 0.0), (0.0, 0.0), (140.0, 30.0)],
            sources: vec![0],
        };
        let l = layout(&g);
        let (b1, b2) = (l.boxes[1], l.boxes[2]);
        let (left, right) = if b1.x < b2.x { (b1, b2) } else { (b2, b1) };
        let label = place_label(&l.routes[2], (140.0, 30.0), &l.boxes, &[]);
        assert!(
            !label.overlaps(&right, 0.0) && !label.overlaps(&left, 0.0),
            "{label:?}"
        );
        assert!(label.right() <= l.width);
    }

    #[test]
    fn barycentre_ordering_removes_crossings() {
        // 0 → 3, 1 → 2 laid out naively would cross.
        let g = Graph {
            sizes: vec![(80.0, 30.0); 4],
            edges: vec![(0, 3), (1, 2)],
            labels: Vec::new(),
            sources: vec![0, 1],
        };
        let l = layout(&g);
        let (a, b) = (&l.boxes, &l.routes);
        assert_eq!(b.len(), 2);
        assert_eq!((a[0].x < a[1].x), (a[3].x < a[2].x));
    }

    #[test]
    fn labels_avoid_boxes_and_each_other() {
        let mut g = graph(4, &[(0, 1), (0, 2), (0, 3)]);
        g.labels = vec![(150.0, 40.0); 3];
        let l = layout(&g);
        let mut avoid = l.boxes.clone();
        for (i, r) in l.routes.iter().enumerate() {
            let others: Vec<Segment> = l
                .routes
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .flat_map(|(_, o)| o.points.windows(2).map(|w| (w[0], w[1])))
                .collect();
            let p = place_label(r, (150.0, 40.0), &avoid, &others);
            assert!(!avoid.iter().any(|o| p.overlaps(o, 0.0)), "{p:?}");
            assert!(
                !others.iter().any(|s| crosses(*s, &p)),
                "{p:?} crosses another edge"
            );
            avoid.push(p);
        }
    }

    #[test]
    fn boundary_points_lie_on_the_box() {
        let r = Rect {
            x: 100.0,
            y: 50.0,
            w: 40.0,
            h: 20.0,
        };
        assert_eq!(r.boundary_towards((100.0, 200.0)), (100.0, 60.0));
        assert_eq!(r.boundary_towards((300.0, 50.0)), (120.0, 50.0));
        let (x, y) = r.boundary_towards((140.0, 90.0));
        assert_eq!((x, y), (110.0, 60.0));
    }
}
