//! A workload's request-handling script compiled to a flat program.
//!
//! Why flat: executing `[compute, call, parallel[...]]` as a tree would need a
//! stack per request; as a program each execution is just a program counter, and
//! a `parallel` group is a fork whose branches run as child executions and join
//! at a known pc. `exit[pc]` is the pc that ends the branch containing `pc`
//! (where a failed call jumps).

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
    /// End of the script: answer the request.
    Respond,
}

#[derive(Clone, Debug)]
pub struct Fork {
    pub branches: Vec<u32>,
    pub join: u32,
}

#[derive(Clone, Debug)]
pub struct Program {
    pub ops: Vec<Op>,
    pub exit: Vec<u32>,
    pub samplers: Vec<Sampler>,
    pub calls: Vec<Call>,
    pub forks: Vec<Fork>,
}

impl Program {
    pub fn compile(steps: &[Step]) -> Program {
        let mut p = Program {
            ops: Vec::new(),
            exit: Vec::new(),
            samplers: Vec::new(),
            calls: Vec::new(),
            forks: Vec::new(),
        };
        let start = p.ops.len();
        p.emit(steps);
        p.ops.push(Op::Respond);
        p.fill_exit(start);
        p
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
}
