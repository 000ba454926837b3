//! The assertion language of `--assert` and `Simulation.spec.assertions`:
//! k6-style thresholds over paths into `summary.json`, and SLOs as fractions.
//!
//! Why paths into `summary.json`: it is the report users already read and
//! diff, so an assertion names exactly the number they saw
//! (`loads.web.latency_ms.p99 < 250ms`); nothing new to learn. Why a unit on
//! the value: `250ms` and `0.25s` say what was meant, and a `%` on a latency
//! (or `ms` on a count) is caught as a mistake instead of compared.
//!
//! ```text
//! threshold := PATH OP NUMBER [UNIT]        loads.web.latency_ms.p99 < 250ms
//! slo       := PATH ':' 'latency' OP NUMBER UNIT 'for' OP NUMBER '%'
//!                                           loads.web: latency ≤ 250ms for ≥ 99%
//! PATH      := SEGMENT ('.' SEGMENT)*       a bare segment is [A-Za-z0-9_/-]+,
//!                                           or "quoted" (dots, colons, anything)
//! OP        := < | <= | ≤ | > | >= | ≥ | == | != | ≠
//! UNIT      := us | µs | ms | s | %
//! ```
//!
//! This file only parses (pure, no scenario): what a path may name is checked
//! in `check.rs`, the evaluation is `eval.rs`.

use std::fmt;

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Op {
    /// `lhs OP rhs`.
    pub fn holds(self, lhs: f64, rhs: f64) -> bool {
        match self {
            Op::Lt => lhs < rhs,
            Op::Le => lhs <= rhs,
            Op::Gt => lhs > rhs,
            Op::Ge => lhs >= rhs,
            Op::Eq => lhs == rhs,
            Op::Ne => lhs != rhs,
        }
    }
    /// Which side of an interval is the pessimistic one: +1 for an upper
    /// bound (`<`, `≤`: high values fail), −1 for a lower bound, 0 for `==`/`!=`.
    pub fn bad_side(self) -> i8 {
        match self {
            Op::Lt | Op::Le => 1,
            Op::Gt | Op::Ge => -1,
            Op::Eq | Op::Ne => 0,
        }
    }
    fn symbol(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "≤",
            Op::Gt => ">",
            Op::Ge => "≥",
            Op::Eq => "==",
            Op::Ne => "!=",
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

/// A path into `summary.json`, one entry per key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Path(pub Vec<String>);

impl fmt::Display for Path {
    /// Bare segments as they are, others quoted: it parses back to itself.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            if !s.is_empty() && s.chars().all(bare) {
                f.write_str(s)?;
            } else {
                write!(f, "\"{s}\"")?;
            }
        }
        Ok(())
    }
}

/// What a field measures, read off its name: it decides which units a value may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// In milliseconds (`latency_ms.*`, `*_ms`).
    Millis,
    /// In seconds (`*_s`).
    Seconds,
    /// A fraction 0..1 (`error_rate`, `share`, `utilisation`): `%` allowed.
    Fraction,
    /// A count or other plain number: no unit.
    Plain,
}

impl FieldKind {
    pub fn of(path: &Path) -> FieldKind {
        let last = path.0.last().map(String::as_str).unwrap_or("");
        let parent = path.0.len().checked_sub(2).map(|i| path.0[i].as_str());
        if parent == Some("latency_ms") && last != "samples" || last.ends_with("_ms") {
            FieldKind::Millis
        } else if last.ends_with("_s") {
            FieldKind::Seconds
        } else if matches!(last, "error_rate" | "share" | "utilisation") {
            FieldKind::Fraction
        } else {
            FieldKind::Plain
        }
    }
}

/// The unit written after a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    None,
    Micros,
    Millis,
    Seconds,
    Percent,
}

/// One assertion.
#[derive(Clone, Debug, PartialEq)]
pub enum Assertion {
    /// `PATH OP value`; `value` is in the field's own unit (ms for latencies,
    /// a fraction for rates).
    Threshold { path: Path, op: Op, value: f64 },
    /// `STREAM: latency OP threshold for OP fraction`: the fraction of the
    /// stream's finished requests whose latency is within `threshold_ms`,
    /// read off the merged histogram, compared with `fraction` (0..1).
    Slo {
        stream: Path,
        latency_op: Op,
        threshold_ms: f64,
        op: Op,
        fraction: f64,
    },
}

impl Assertion {
    /// The path the assertion reads (the stream for an SLO).
    pub fn path(&self) -> &Path {
        match self {
            Assertion::Threshold { path, .. } => path,
            Assertion::Slo { stream, .. } => stream,
        }
    }
    /// The comparison that decides the verdict.
    pub fn op(&self) -> Op {
        match self {
            Assertion::Threshold { op, .. } | Assertion::Slo { op, .. } => *op,
        }
    }
    /// The right-hand side, in the compared quantity's unit.
    pub fn limit(&self) -> f64 {
        match self {
            Assertion::Threshold { value, .. } => *value,
            Assertion::Slo { fraction, .. } => *fraction,
        }
    }
}

impl fmt::Display for Assertion {
    /// A normal form (units resolved): `loads.web.latency_ms.p99 < 250`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Assertion::Threshold { path, op, value } => write!(f, "{path} {op} {value}"),
            Assertion::Slo {
                stream,
                latency_op,
                threshold_ms,
                op,
                fraction,
            } => write!(
                f,
                "{stream}: latency {latency_op} {threshold_ms}ms for {op} {}%",
                fraction * 100.0
            ),
        }
    }
}

/// Why an assertion does not parse; `at` is a character offset into the text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at character {})", .at + 1)]
pub struct ParseError {
    pub at: usize,
    pub message: String,
}

fn bare(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '/')
}

/// A tiny cursor over the text.
struct Cur<'a> {
    chars: Vec<char>,
    pos: usize,
    _text: &'a str,
}

impl Cur<'_> {
    fn err<T>(&self, message: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError {
            at: self.pos,
            message: message.into(),
        })
    }
    fn ws(&mut self) {
        while self.chars.get(self.pos).is_some_and(|c| c.is_whitespace()) {
            self.pos += 1;
        }
    }
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }
    fn eat(&mut self, s: &str) -> bool {
        let n = s.chars().count();
        if self.chars.len() >= self.pos + n
            && self.chars[self.pos..self.pos + n]
                .iter()
                .copied()
                .eq(s.chars())
        {
            self.pos += n;
            true
        } else {
            false
        }
    }
    fn path(&mut self) -> Result<Path, ParseError> {
        let mut segs = Vec::new();
        loop {
            if self.peek() == Some('"') {
                self.pos += 1;
                let start = self.pos;
                while self.peek().is_some_and(|c| c != '"') {
                    self.pos += 1;
                }
                if self.peek() != Some('"') {
                    self.pos = start - 1;
                    return self.err("unterminated quoted segment");
                }
                let s: String = self.chars[start..self.pos].iter().collect();
                self.pos += 1;
                if s.is_empty() {
                    return self.err("empty quoted segment");
                }
                segs.push(s);
            } else {
                let start = self.pos;
                while self.peek().is_some_and(bare) {
                    self.pos += 1;
                }
                if start == self.pos {
                    return match self.peek() {
                        None => self.err("expected a path into summary.json, e.g. loads.web.latency_ms.p99"),
                        Some(c) => self.err(format!(
                            "unexpected {c:?} in the path (quote a name with dots or other characters: \"reviews.default.svc.cluster.local/v1\")"
                        )),
                    };
                }
                segs.push(self.chars[start..self.pos].iter().collect());
            }
            if !self.eat(".") {
                return Ok(Path(segs));
            }
        }
    }
    fn op(&mut self) -> Result<Op, ParseError> {
        self.ws();
        for (s, op) in [
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("==", Op::Eq),
            ("!=", Op::Ne),
            ("≤", Op::Le),
            ("≥", Op::Ge),
            ("≠", Op::Ne),
            ("<", Op::Lt),
            (">", Op::Gt),
        ] {
            if self.eat(s) {
                return Ok(op);
            }
        }
        if self.peek() == Some('=') {
            return self.err("`=` is not a comparison; use == (or <, <=, >, >=, !=)");
        }
        self.err("expected a comparison: <, <=, ≤, >, >=, ≥, ==, !=")
    }
    fn number(&mut self) -> Result<(f64, Unit), ParseError> {
        self.ws();
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E' | '_'))
        {
            // `e` only inside a number (1e3), not the start of a unit.
            if matches!(self.peek(), Some('e' | 'E'))
                && !self
                    .chars
                    .get(self.pos + 1)
                    .is_some_and(|c| c.is_ascii_digit() || *c == '-' || *c == '+')
            {
                break;
            }
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos]
            .iter()
            .filter(|c| **c != '_')
            .collect();
        let Ok(v) = text.parse::<f64>() else {
            self.pos = start;
            return self.err("expected a number");
        };
        if !v.is_finite() {
            self.pos = start;
            return self.err("the number must be finite");
        }
        self.ws();
        let unit = if self.eat("ms") {
            Unit::Millis
        } else if self.eat("us") || self.eat("µs") || self.eat("μs") {
            Unit::Micros
        } else if self.eat("s") {
            Unit::Seconds
        } else if self.eat("%") {
            Unit::Percent
        } else {
            Unit::None
        };
        Ok((v, unit))
    }
    fn end(&mut self) -> Result<(), ParseError> {
        self.ws();
        match self.peek() {
            None => Ok(()),
            Some(c) => self.err(format!(
                "unexpected {c:?} after the value (units: us, ms, s, %)"
            )),
        }
    }
}

/// `v` with `unit`, in the unit of a field of `kind`.
fn in_field_unit(v: f64, unit: Unit, kind: FieldKind, path: &Path) -> Result<f64, String> {
    let time = |ms: f64| match kind {
        FieldKind::Millis => Ok(ms),
        FieldKind::Seconds => Ok(ms / 1e3),
        _ => Err(format!(
            "{path} is not a duration, so a time unit does not apply"
        )),
    };
    match unit {
        Unit::None => Ok(v),
        Unit::Micros => time(v / 1e3),
        Unit::Millis => time(v),
        Unit::Seconds => time(v * 1e3),
        Unit::Percent => match kind {
            FieldKind::Fraction => Ok(v / 100.0),
            _ => Err(format!(
                "{path} is not a fraction (error_rate, share, utilisation), so % does not apply"
            )),
        },
    }
}

/// The path an assertion starts with, if that much parses (so that a
/// misspelt field is reported as such, before a unit that does not fit it).
pub fn leading_path(text: &str) -> Option<(Path, bool)> {
    let mut c = Cur {
        chars: text.chars().collect(),
        pos: 0,
        _text: text,
    };
    c.ws();
    let p = c.path().ok()?;
    c.ws();
    Some((p, c.peek() == Some(':')))
}

/// Parses one assertion.
pub fn parse(text: &str) -> Result<Assertion, ParseError> {
    let mut c = Cur {
        chars: text.chars().collect(),
        pos: 0,
        _text: text,
    };
    c.ws();
    let path = c.path()?;
    c.ws();
    if c.eat(":") {
        c.ws();
        if !c.eat("latency") {
            return c
                .err("expected `latency` after `:` (e.g. loads.web: latency ≤ 250ms for ≥ 99%)");
        }
        let latency_op = c.op()?;
        if latency_op.bad_side() != 1 {
            return c.err("an SLO bounds latency from above: latency ≤ 250ms (or <)");
        }
        c.ws();
        let at = c.pos;
        let (v, unit) = c.number()?;
        let threshold_ms = match unit {
            Unit::Micros => v / 1e3,
            Unit::Millis => v,
            Unit::Seconds => v * 1e3,
            _ => {
                c.pos = at;
                return c.err("the latency threshold needs a time unit: us, ms or s");
            }
        };
        c.ws();
        if !c.eat("for") {
            return c.err("expected `for ≥ N%` after the latency threshold");
        }
        let op = c.op()?;
        c.ws();
        let at = c.pos;
        let (v, unit) = c.number()?;
        if unit != Unit::Percent || !(0.0..=100.0).contains(&v) {
            c.pos = at;
            return c.err("the fraction is a percentage from 0% to 100%, e.g. 99%");
        }
        c.end()?;
        return Ok(Assertion::Slo {
            stream: path,
            latency_op,
            threshold_ms,
            op,
            fraction: v / 100.0,
        });
    }
    let op = c.op()?;
    c.ws();
    let at = c.pos;
    let (v, unit) = c.number()?;
    let kind = FieldKind::of(&path);
    let value = match in_field_unit(v, unit, kind, &path) {
        Ok(x) => x,
        Err(m) => {
            c.pos = at;
            return c.err(m);
        }
    };
    c.end()?;
    Ok(Assertion::Threshold { path, op, value })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &[&str]) -> Path {
        Path(s.iter().map(|x| x.to_string()).collect())
    }

    #[test]
    fn thresholds_parse_with_units_resolved() {
        let table: &[(&str, Assertion)] = &[
            (
                "loads.web.latency_ms.p99 < 250ms",
                Assertion::Threshold {
                    path: p(&["loads", "web", "latency_ms", "p99"]),
                    op: Op::Lt,
                    value: 250.0,
                },
            ),
            (
                "loads.web.latency_ms.p99<0.25s",
                Assertion::Threshold {
                    path: p(&["loads", "web", "latency_ms", "p99"]),
                    op: Op::Lt,
                    value: 250.0,
                },
            ),
            (
                "loads.web.latency_ms.mean ≤ 1500us",
                Assertion::Threshold {
                    path: p(&["loads", "web", "latency_ms", "mean"]),
                    op: Op::Le,
                    value: 1.5,
                },
            ),
            (
                "loads.web.error_rate < 0.1%",
                Assertion::Threshold {
                    path: p(&["loads", "web", "error_rate"]),
                    op: Op::Lt,
                    value: 0.001,
                },
            ),
            (
                "loads.web.flags.UO == 0",
                Assertion::Threshold {
                    path: p(&["loads", "web", "flags", "UO"]),
                    op: Op::Eq,
                    value: 0.0,
                },
            ),
            (
                r#"destinations."reviews.default.svc.cluster.local/v1".latency_ms.p90 >= 1e2"#,
                Assertion::Threshold {
                    path: p(&[
                        "destinations",
                        "reviews.default.svc.cluster.local/v1",
                        "latency_ms",
                        "p90",
                    ]),
                    op: Op::Ge,
                    value: 100.0,
                },
            ),
            (
                "workloads.\"default/web\".utilisation != 50%",
                Assertion::Threshold {
                    path: p(&["workloads", "default/web", "utilisation"]),
                    op: Op::Ne,
                    value: 0.5,
                },
            ),
            (
                "duration_s > 1_000",
                Assertion::Threshold {
                    path: p(&["duration_s"]),
                    op: Op::Gt,
                    value: 1000.0,
                },
            ),
        ];
        for (text, want) in table {
            assert_eq!(parse(text).as_ref(), Ok(want), "{text}");
        }
    }

    #[test]
    fn slos_parse_as_fractions() {
        assert_eq!(
            parse("loads.web: latency ≤ 250ms for ≥ 99%"),
            Ok(Assertion::Slo {
                stream: p(&["loads", "web"]),
                latency_op: Op::Le,
                threshold_ms: 250.0,
                op: Op::Ge,
                fraction: 0.99,
            })
        );
        assert_eq!(
            parse("services.reviews.default:latency<=1s for>=99.5%"),
            Ok(Assertion::Slo {
                stream: p(&["services", "reviews", "default"]),
                latency_op: Op::Le,
                threshold_ms: 1000.0,
                op: Op::Ge,
                fraction: 0.995,
            })
        );
    }

    #[test]
    fn mistakes_are_named_at_their_place() {
        let table: &[(&str, usize, &str)] = &[
            ("loads.web.latency_ms.p99 = 250ms", 25, "use =="),
            ("loads.web.latency_ms.p99 < 1%", 27, "not a fraction"),
            ("loads.web.requests > 5ms", 21, "not a duration"),
            ("loads.web.error_rate < 0.1", usize::MAX, ""),
            ("loads.web.latency_ms.p99 < fast", 27, "expected a number"),
            ("loads.web.latency_ms.p99 < 250ms!", 32, "after the value"),
            ("destinations.\"reviews.default", 13, "unterminated"),
            ("loads.web latency", 10, "expected a comparison"),
            ("loads.web: latency ≤ 250 for ≥ 99%", 21, "time unit"),
            ("loads.web: latency ≤ 250ms for ≥ 0.99", 33, "percentage"),
            ("loads.web: latency ≥ 250ms for ≥ 99%", 20, "from above"),
            ("", 0, "expected a path"),
            ("loads.$x < 1", 6, "quote a name"),
        ];
        for (text, at, msg) in table {
            match parse(text) {
                Ok(a) if *at == usize::MAX => {
                    assert_eq!(a.limit(), 0.1, "{text}")
                }
                Ok(a) => panic!("{text}: parsed as {a}"),
                Err(e) => {
                    assert_eq!(e.at, *at, "{text}: {e}");
                    assert!(e.message.contains(msg), "{text}: {e}");
                }
            }
        }
    }

    #[test]
    fn paths_print_back_to_what_parses() {
        let a = parse(r#"routes."default/reviews/0".attempts <= 10"#).unwrap();
        assert_eq!(a.to_string(), "routes.default/reviews/0.attempts ≤ 10");
        assert_eq!(parse(&a.to_string()), Ok(a));
        let a = parse(r#"destinations."a.b/v1".share > 1%"#).unwrap();
        assert_eq!(a.to_string(), r#"destinations."a.b/v1".share > 0.01"#);
        assert_eq!(parse(&a.to_string()), Ok(a));
    }
}
