//! How deeply a statement can nest, estimated from its tokens before it
//! is parsed, and the limit past which it is refused (54001).
//!
//! sqlparser builds a chain of operators (`1+1+...+1`, `a OR b OR ...`,
//! `x::t::t`, `SELECT 1 UNION ALL SELECT 1 ...`) into a tree as deep as
//! the chain is long, without recursing itself. Nearly everything after
//! it recurses once per level: the syntax tree's own clone, drop and
//! display, glaux's rewrites, DataFusion's planner and optimizer. A deep
//! enough tree overflows a thread's stack, which aborts the whole server,
//! so the depth is bounded before any tree is built.
//!
//! [`Nesting`] counts, along each path of brackets, the operators of
//! every run of tokens not cut by a comma (or a CASE's WHEN, THEN and
//! ELSE, whose branches are siblings): an estimate never below the
//! tree's real depth, so a statement under the limit cannot be deeper.
//! Wide statements (long IN lists, many columns or rows, CASEs with many
//! branches) are flat and stay far from it.
//!
//! Calls nest differently. sqlparser tries each word followed by a
//! bracket (`f(`, `ROW(`, `ARRAY[`, `(SELECT`, `EXISTS (`) one way and
//! then another, so its time doubles with each such level: 20 nested
//! `ROW(` took 3 s and 49 nested `ARRAY[` never finished, on the thread
//! that serves the connection, where nothing can cancel it. The same pass
//! counts those brackets and refuses more than [`MAX_CALL_NESTING`] open
//! at once (54001); brackets that follow no word (`((a + b) * c)`) are
//! cheap and are not counted.
//!
//! The same pass refuses parameter numbers outside `$1`..`$65535` (42P02),
//! the protocol's limit, before any of them can size anything.

use crate::error::{Error, Result, SqlState};
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::tokenizer::Token;

/// The deepest operator nesting a statement may have.
pub const MAX_NESTING: usize = 1000;

/// The most brackets after a word (calls, subqueries, arrays) a statement
/// may have open at once.
pub const MAX_CALL_NESTING: usize = 16;

/// The running estimate over one statement's tokens.
#[derive(Debug, Default)]
pub struct Nesting {
    /// Operators counted in the current run outside any bracket.
    base: usize,
    /// Operators counted in the current run of each open bracket level.
    levels: Vec<usize>,
    /// Their sum: the depth at the current token.
    depth: usize,
    /// The deepest seen.
    deepest: usize,
    /// For each open bracket, whether it follows a word.
    calls: Vec<bool>,
    /// How many of them do, and the most that did at once.
    call_depth: usize,
    deepest_call: usize,
    /// Whether the last token other than whitespace was a word.
    after_word: bool,
    /// The first parameter number out of range (`$0`, `$2147483648`).
    bad_parameter: Option<String>,
}

/// The highest parameter number a statement may use.
pub const MAX_PARAMETERS: usize = 65_535;

impl Nesting {
    /// Take the statement's next token.
    pub fn token(&mut self, token: &Token) {
        if matches!(token, Token::Whitespace(_)) {
            return;
        }
        let after_word = std::mem::replace(&mut self.after_word, matches!(token, Token::Word(_)));
        match token {
            Token::LParen | Token::LBracket => {
                self.open();
                self.open_call(after_word);
            }
            Token::LBrace => {
                self.open();
                self.open_call(false);
            }
            Token::RParen | Token::RBracket | Token::RBrace => {
                self.close();
                if self.calls.pop() == Some(true) {
                    self.call_depth -= 1;
                }
            }
            Token::Comma => self.cut(),
            Token::Placeholder(p) => self.parameter(p),
            Token::Word(w) => match w.keyword {
                Keyword::CASE => self.open(),
                Keyword::END => self.close(),
                Keyword::WHEN | Keyword::THEN | Keyword::ELSE => self.cut(),
                Keyword::AND
                | Keyword::OR
                | Keyword::NOT
                | Keyword::IS
                | Keyword::LIKE
                | Keyword::ILIKE
                | Keyword::SIMILAR
                | Keyword::BETWEEN
                | Keyword::IN
                | Keyword::COLLATE
                | Keyword::AT
                | Keyword::UNION
                | Keyword::INTERSECT
                | Keyword::EXCEPT
                | Keyword::MINUS
                | Keyword::OPERATOR
                | Keyword::ESCAPE
                | Keyword::ARRAY
                | Keyword::ROW => self.operator(),
                _ => {}
            },
            Token::Whitespace(_)
            | Token::Number(..)
            | Token::SingleQuotedString(_)
            | Token::DoubleQuotedString(_)
            | Token::NationalStringLiteral(_)
            | Token::EscapedStringLiteral(_)
            | Token::UnicodeStringLiteral(_)
            | Token::HexStringLiteral(_)
            | Token::DollarQuotedString(_)
            | Token::Period
            | Token::SemiColon
            | Token::EOF => {}
            // Every other token is an operator of some kind (+, ||, ::, ->, ...).
            _ => self.operator(),
        }
    }

    fn open(&mut self) {
        self.levels.push(0);
    }

    fn open_call(&mut self, call: bool) {
        self.calls.push(call);
        if call {
            self.call_depth += 1;
            self.deepest_call = self.deepest_call.max(self.call_depth);
        }
    }

    fn close(&mut self) {
        if let Some(n) = self.levels.pop() {
            self.depth -= n;
        }
    }

    fn cut(&mut self) {
        let run = self.levels.last_mut().unwrap_or(&mut self.base);
        self.depth -= *run;
        *run = 0;
    }

    fn operator(&mut self) {
        *self.levels.last_mut().unwrap_or(&mut self.base) += 1;
        self.depth += 1;
        self.deepest = self.deepest.max(self.depth + self.levels.len());
    }

    fn parameter(&mut self, p: &str) {
        let Some(digits) = p.strip_prefix('$') else { return };
        let in_range = digits.parse::<usize>().is_ok_and(|n| (1..=MAX_PARAMETERS).contains(&n));
        if !in_range && digits.bytes().all(|b| b.is_ascii_digit()) && self.bad_parameter.is_none() {
            self.bad_parameter = Some(p.to_string());
        }
    }

    /// What the statement's tokens showed.
    pub fn finish(self) -> Shape {
        Shape {
            nesting: self.deepest,
            calls: self.deepest_call,
            bad_parameter: self.bad_parameter,
            adjacent_string: None,
        }
    }
}

/// A statement's shape, as its tokens show it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Shape {
    /// How deeply its expressions can nest.
    pub nesting: usize,
    /// The most brackets after a word open at once.
    pub calls: usize,
    /// A parameter number out of range.
    pub bad_parameter: Option<String>,
    /// A string constant right after another ([`Adjacent`]).
    pub adjacent_string: Option<Adjacent>,
}

/// A string constant that follows another (`'a' 'b'`): on the same line
/// PostgreSQL refuses it (42601); after a newline it continues the first
/// (`'ab'`), which glaux does not do. sqlparser would read either as a
/// column alias, a silent wrong answer, so both are refused.
#[derive(Debug, Clone, PartialEq)]
pub struct Adjacent {
    /// 1-based character position in the script.
    pub position: usize,
    pub after_newline: bool,
}

/// 42P02 for a parameter out of range; 42601 / 0A000 for adjacent string
/// constants; 54001 for a statement estimated deeper than [`MAX_NESTING`]
/// or with calls nested deeper than [`MAX_CALL_NESTING`].
pub fn check(shape: &Shape) -> Result<()> {
    if let Some(a) = &shape.adjacent_string {
        return Err(if a.after_newline {
            Error::new(
                SqlState::FeatureNotSupported,
                "string constants continued on a new line are not supported; join them with ||",
            )
        } else {
            Error::syntax("syntax error: a string constant cannot follow another on the same line", Some(a.position))
        });
    }
    if let Some(p) = &shape.bad_parameter {
        return Err(Error::new(
            SqlState::UndefinedParameter,
            format!("there is no parameter {p}: parameters are numbered $1 to ${MAX_PARAMETERS}"),
        ));
    }
    if shape.calls > MAX_CALL_NESTING {
        return Err(Error::new(
            SqlState::StatementTooComplex,
            format!(
                "statement is too complex: it nests {} function calls, subqueries or arrays inside each other, more than the limit of {MAX_CALL_NESTING}",
                shape.calls
            ),
        )
        .with_hint("compute inner parts in a subquery or a WITH clause"));
    }
    let deepest = shape.nesting;
    if deepest <= MAX_NESTING {
        return Ok(());
    }
    Err(Error::new(
        SqlState::StatementTooComplex,
        format!(
            "statement is too complex: its expressions nest about {deepest} levels deep, more than the limit of {MAX_NESTING}"
        ),
    )
    .with_hint("split long chains of operators (a OR b OR ...) into IN lists, or the statement into several"))
}
