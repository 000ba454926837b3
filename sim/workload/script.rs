//! A workload's request-handling script compiled to a flat program.
//!
//! Why flat: executing `[compute, call, parallel[...]]` as a tree would need a
//! stack per request; as a program each execution is just a program counter, and
//! a `parallel` group is a fork whose branches run as child executions and join
//! at a known pc. `exit[pc]` is the pc that ends the branch containing `pc`
//! (where a failed call jumps). A `choice` runs in the same execution: it
//! jumps to the drawn branch, which ends with a jump to the join. A Workload
//! with endpoint rules compiles every script into one program, each from its
//! own entry pc (`entries[0]` = the default script).

use crate::engine::dist::Sampler;
use crate::scenario::spec::{Call, Step};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Occupy a worker for a draw from `samplers[i]`.
    Compute(u32),
    /// Make `calls[i]`.
    Call(u32),
    /// Start `forks[i]`'s branches and wait for all of them.
    Fork(u32),
    /// End of a parallel branch.
    EndBranch,
    /// Draw one branch of `choices[i]` and jump to it.
    Choose(u32),
    /// Jump (end of a choice branch → its join).
    Goto(u32),
    /// End of the script: answer the request.
    Respond,
}

#[derive(Clone, Debug)]
pub struct Fork {
    pub branches: Vec<u32>,
    pub join: u32,
}

/// A `choice` step: cumulative weights, each branch's first pc, the join.
#[derive(Clone, Debug)]
pub struct Choice {
    pub cum: Vec<u64>,
    pub total: u64,
    pub branches: Vec<u32>,
    pub join: u32,
    /// Stable name of its random stream: `<script>#<k>` (the k-th choice of
    /// the default script or of an endpoint rule, by name).
    pub label: String,
}

impl Choice {
    /// The branch a uniform draw `r` (any u64) selects: Envoy's weighted
    /// walk, so a zero-weight branch is never chosen.
    #[inline]
    pub fn pick(&self, r: u64) -> usize {
        let x = r % self.total;
        self.cum.iter().position(|&c| x < c).unwrap_or(0)
    }
}

#[derive(Clone, Debug)]
pub struct Program {
    pub ops: Vec<Op>,
    pub exit: Vec<u32>,
    pub samplers: Vec<Sampler>,
    pub calls: Vec<Call>,
    pub forks: Vec<Fork>,
    pub choices: Vec<Choice>,
    /// First pc of each script: the default, then each endpoint rule's.
    pub entries: Vec<u32>,
    /// Name of the script being emitted (choice labels).
    script: String,
    choices_in_script: u32,
}

impl Program {
    pub fn compile(steps: &[Step]) -> Program {
        Program::compile_all(steps, &[])
    }

    /// The default script and every endpoint rule's, one entry each.
    pub fn compile_all(default: &[Step], endpoints: &[crate::scenario::spec::Endpoint]) -> Program {
        let mut p = Program {
            ops: Vec::new(),
            exit: Vec::new(),
            samplers: Vec::new(),
            calls: Vec::new(),
            forks: Vec::new(),
            choices: Vec::new(),
            entries: Vec::new(),
            script: crate::scenario::spec::endpoint::DEFAULT_ENDPOINT.into(),
            choices_in_script: 0,
        };
        let scripts = std::iter::once((p.script.clone(), default)).chain(
            endpoints
                .iter()
                .map(|e| (e.name.clone(), e.script.as_slice())),
        );
        for (name, steps) in scripts {
            p.script = name;
            p.choices_in_script = 0;
            let start = p.ops.len();
            p.entries.push(start as u32);
            p.emit(steps);
            p.ops.push(Op::Respond);
            p.fill_exit(start);
        }
        p
    }

    /// Is `pc` the first op of a script (a request not yet started)?
    #[inline]
    pub fn is_entry(&self, pc: u32) -> bool {
        self.entries.contains(&pc)
    }

    fn emit(&mut self, steps: &[Step]) {
        for s in steps {
            match s {
                Step::Compute(d) => {
                    self.samplers.push(d.sampler());
                    self.ops.push(Op::Compute(self.samplers.len() as u32 - 1));
                }
                Step::Call(c) => {
                    self.calls.push(c.clone());
                    self.ops.push(Op::Call(self.calls.len() as u32 - 1));
                }
                Step::Parallel(branches) => {
                    let fi = self.forks.len();
                    self.forks.push(Fork {
                        branches: Vec::new(),
                        join: 0,
                    });
                    self.ops.push(Op::Fork(fi as u32));
                    let mut starts = Vec::new();
                    for b in branches {
                        let st = self.ops.len();
                        starts.push(st as u32);
                        self.emit(b);
                        self.ops.push(Op::EndBranch);
                        self.fill_exit(st);
                    }
                    self.forks[fi].branches = starts;
                    self.forks[fi].join = self.ops.len() as u32;
                }
                Step::Choice(branches) => {
                    let ci = self.choices.len();
                    let mut total = 0u64;
                    let cum = branches
                        .iter()
                        .map(|(w, _)| {
                            total += *w as u64;
                            total
                        })
                        .collect();
                    self.choices.push(Choice {
                        cum,
                        total: total.max(1),
                        branches: Vec::new(),
                        join: 0,
                        label: format!("{}#{}", self.script, self.choices_in_script),
                    });
                    self.choices_in_script += 1;
                    self.ops.push(Op::Choose(ci as u32));
                    let mut starts = Vec::new();
                    let mut gotos = Vec::new();
                    for (_, b) in branches {
                        starts.push(self.ops.len() as u32);
                        self.emit(b);
                        gotos.push(self.ops.len());
                        self.ops.push(Op::Goto(0));
                    }
                    let join = self.ops.len() as u32;
                    for g in gotos {
                        self.ops[g] = Op::Goto(join);
                    }
                    self.choices[ci].branches = starts;
                    self.choices[ci].join = join;
                }
            }
        }
    }

    /// Sets `exit` for the branch that starts at `start` and ends at the last op.
    fn fill_exit(&mut self, start: usize) {
        let end = self.ops.len() - 1;
        self.exit.resize(self.ops.len(), 0);
        // Walk the branch, skipping nested forks (already filled).
        let mut pc = start;
        while pc <= end {
            if self.exit[pc] == 0 || pc == end {
                self.exit[pc] = end as u32;
            }
            pc = match self.ops[pc] {
                Op::Fork(f) => self.forks[f as usize].join as usize,
                _ => pc + 1,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::SimDuration;
    use crate::engine::dist::Dist;

    #[test]
    fn parallel_compiles_to_fork_and_join() {
        let c = || Step::Compute(Dist::Constant(SimDuration::from_millis(1)));
        let p = Program::compile(&[c(), Step::Parallel(vec![vec![c()], vec![c(), c()]]), c()]);
        use Op::*;
        assert_eq!(
            p.ops,
            vec![
                Compute(0),
                Fork(0),
                Compute(1),
                EndBranch,
                Compute(2),
                Compute(3),
                EndBranch,
                Compute(4),
                Respond
            ]
        );
        assert_eq!(p.forks[0].branches, vec![2, 4]);
        assert_eq!(p.forks[0].join, 7);
        assert_eq!(p.exit, vec![8, 8, 3, 3, 6, 6, 6, 8, 8]);
    }

    #[test]
    fn choice_jumps_to_its_join_and_fails_to_the_enclosing_end() {
        let c = || Step::Compute(Dist::Constant(SimDuration::from_millis(1)));
        let p = Program::compile(&[
            Step::Parallel(vec![vec![Step::Choice(vec![
                (1, vec![c()]),
                (0, vec![c(), c()]),
            ])]]),
            c(),
        ]);
        use Op::*;
        assert_eq!(
            p.ops,
            vec![
                Fork(0),
                Choose(0),
                Compute(0),
                Goto(7),
                Compute(1),
                Compute(2),
                Goto(7),
                EndBranch,
                Compute(3),
                Respond
            ]
        );
        assert_eq!(p.choices[0].branches, vec![2, 4]);
        assert_eq!(p.choices[0].label, "default#0");
        // Inside the parallel branch, a failure anywhere in the choice ends the branch.
        assert_eq!(&p.exit[1..8], &[7, 7, 7, 7, 7, 7, 7]);
        assert_eq!(p.exit[9], 9);
        // Weight 0 is never drawn.
        assert!((0..1000u64).all(|r| p.choices[0].pick(r) == 0));
    }
}
