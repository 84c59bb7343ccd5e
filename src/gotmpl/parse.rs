//! Go text/template source to a tree: the lexer (actions between `{{` and
//! `}}`, with `{{-`/`-}}` trimming) and a recursive-descent parser for the
//! subset Docker users write: fields, variables, pipelines, function calls,
//! parentheses, if/else if/else, range (with `$i, $e :=`), with, break,
//! continue, comments.
use super::TemplateError;

/// One operand of a command.
#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    /// `.` or `.A.B`: the cursor and a chain of keys on it
    Dot(Vec<String>),
    /// `$` or `$x.A`: a variable and a chain of keys on it
    Var(String, Vec<String>),
    /// a function name
    Func(String),
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Nil,
    /// `(pipeline).A.B`
    Sub(Box<Pipeline>, Vec<String>),
}

/// `op arg...`: a function call when the first operand is a function.
#[derive(Clone, Debug, PartialEq)]
pub struct Command {
    pub args: Vec<Operand>,
}

/// `[$a, $b :=|=] cmd | cmd ...`
#[derive(Clone, Debug, PartialEq)]
pub struct Pipeline {
    pub decl: Vec<String>,
    /// `=` (assign to an existing variable) rather than `:=`
    pub assign: bool,
    pub cmds: Vec<Command>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Text(String),
    Action(Pipeline),
    If { pipe: Pipeline, then: Vec<Node>, els: Vec<Node> },
    Range { pipe: Pipeline, body: Vec<Node>, els: Vec<Node> },
    With { pipe: Pipeline, body: Vec<Node>, els: Vec<Node> },
    Break,
    Continue,
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    /// `.A.B` at the start of an operand
    Field(Vec<String>),
    /// `$x.A.B`
    Var(String, Vec<String>),
    /// `.A.B` right after a `)`
    Chain(Vec<String>),
    Ident(String),
    Str(String),
    Int(i64),
    Float(f64),
    Dot,
    Pipe,
    LParen,
    RParen,
    Comma,
    Declare,
    Assign,
}

/// A piece of the source: text, or the tokens of one action.
enum Piece {
    Text(String),
    Action(Vec<Tok>),
}

fn err(msg: impl Into<String>) -> TemplateError {
    TemplateError::Parse(msg.into())
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Splits the source into text and actions (comments dropped).
fn split(src: &str) -> Result<Vec<Piece>, TemplateError> {
    let mut out = Vec::new();
    let mut rest = src;
    let mut trim_next = false;
    while !rest.is_empty() {
        let Some(open) = rest.find("{{") else {
            let t = if trim_next { rest.trim_start() } else { rest };
            out.push(Piece::Text(t.to_string()));
            break;
        };
        let mut text = &rest[..open];
        if trim_next {
            text = text.trim_start();
        }
        let mut body = &rest[open + 2..];
        if body.starts_with("- ") || body.starts_with("-\t") || body.starts_with("-\n") {
            text = text.trim_end();
            body = &body[1..];
        }
        if !text.is_empty() {
            out.push(Piece::Text(text.to_string()));
        }
        let (toks, after, trim) = lex_action(body)?;
        trim_next = trim;
        if let Some(t) = toks {
            out.push(Piece::Action(t));
        }
        rest = after;
    }
    Ok(out)
}

/// Lexes one action up to its `}}`; returns the tokens (None for a
/// comment), the rest of the source and whether `-}}` trims what follows.
fn lex_action(body: &str) -> Result<(Option<Vec<Tok>>, &str, bool), TemplateError> {
    let trimmed = body.trim_start();
    if let Some(c) = trimmed.strip_prefix("/*") {
        let end = c.find("*/").ok_or_else(|| err("unclosed comment"))?;
        let after = c[end + 2..].trim_start();
        if let Some(a) = after.strip_prefix("-}}") {
            return Ok((None, a, true));
        }
        let a = after.strip_prefix("}}").ok_or_else(|| err("comment ends before closing delimiter"))?;
        return Ok((None, a, false));
    }
    let mut toks = Vec::new();
    let chars: Vec<(usize, char)> = body.char_indices().collect();
    let mut i = 0;
    let at = |i: usize| chars.get(i).map(|c| c.1);
    let pos = |i: usize| chars.get(i).map(|c| c.0).unwrap_or(body.len());
    // `.A.B...` from i (no space inside a chain): the names and the end
    let chain = |mut i: usize| {
        let mut names = Vec::new();
        while at(i) == Some('.') && at(i + 1).is_some_and(|ch| ch.is_alphabetic() || ch == '_') {
            let start = i + 1;
            let mut j = start;
            while at(j).is_some_and(is_ident_char) {
                j += 1;
            }
            names.push(body[pos(start)..pos(j)].to_string());
            i = j;
        }
        (names, i)
    };
    loop {
        let Some(c) = at(i) else { return Err(err("unclosed action")) };
        if c.is_whitespace() {
            // " -}}": trim marker
            let mut j = i;
            while at(j).is_some_and(char::is_whitespace) {
                j += 1;
            }
            if at(j) == Some('-') && at(j + 1) == Some('}') && at(j + 2) == Some('}') {
                return Ok((Some(toks), &body[pos(j + 3)..], true));
            }
            i = j;
            continue;
        }
        if c == '}' && at(i + 1) == Some('}') {
            return Ok((Some(toks), &body[pos(i + 2)..], false));
        }
        match c {
            '|' => {
                toks.push(Tok::Pipe);
                i += 1;
            }
            '(' => {
                toks.push(Tok::LParen);
                i += 1;
            }
            ')' => {
                toks.push(Tok::RParen);
                let (names, j) = chain(i + 1);
                if !names.is_empty() {
                    toks.push(Tok::Chain(names));
                }
                i = j;
            }
            ',' => {
                toks.push(Tok::Comma);
                i += 1;
            }
            ':' if at(i + 1) == Some('=') => {
                toks.push(Tok::Declare);
                i += 2;
            }
            '=' => {
                toks.push(Tok::Assign);
                i += 1;
            }
            '"' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match at(i) {
                        None | Some('\n') => return Err(err("unterminated quoted string")),
                        Some('"') => break,
                        Some('\\') => {
                            let e = at(i + 1).ok_or_else(|| err("unterminated quoted string"))?;
                            s.push(match e {
                                'n' => '\n',
                                't' => '\t',
                                'r' => '\r',
                                '\\' => '\\',
                                '"' => '"',
                                '\'' => '\'',
                                '0' => '\0',
                                _ => return Err(err(format!("unknown escape sequence \\{e}"))),
                            });
                            i += 2;
                        }
                        Some(ch) => {
                            s.push(ch);
                            i += 1;
                        }
                    }
                }
                toks.push(Tok::Str(s));
                i += 1;
            }
            '`' => {
                let start = i + 1;
                let mut j = start;
                while at(j).is_some_and(|ch| ch != '`') {
                    j += 1;
                }
                if at(j).is_none() {
                    return Err(err("unterminated raw quoted string"));
                }
                toks.push(Tok::Str(body[pos(start)..pos(j)].to_string()));
                i = j + 1;
            }
            '.' if at(i + 1).is_some_and(|ch| ch.is_alphabetic() || ch == '_') => {
                let (names, j) = chain(i);
                toks.push(Tok::Field(names));
                i = j;
            }
            '.' => {
                toks.push(Tok::Dot);
                i += 1;
            }
            '$' => {
                let start = i + 1;
                let mut j = start;
                while at(j).is_some_and(is_ident_char) {
                    j += 1;
                }
                let name = body[pos(start)..pos(j)].to_string();
                let (names, k) = chain(j);
                toks.push(Tok::Var(name, names));
                i = k;
            }
            c if c.is_ascii_digit() || ((c == '-' || c == '+') && at(i + 1).is_some_and(|d| d.is_ascii_digit())) => {
                let start = i;
                let mut j = i + 1;
                while at(j).is_some_and(|d| d.is_ascii_alphanumeric() || d == '.' || d == '_' || ((d == '-' || d == '+') && matches!(at(j - 1), Some('e') | Some('E')))) {
                    j += 1;
                }
                let text = body[pos(start)..pos(j)].replace('_', "");
                if let Ok(n) = text.parse::<i64>() {
                    toks.push(Tok::Int(n));
                } else if let Some(h) = text.strip_prefix("0x").and_then(|h| i64::from_str_radix(h, 16).ok()) {
                    toks.push(Tok::Int(h));
                } else if let Ok(f) = text.parse::<f64>() {
                    toks.push(Tok::Float(f));
                } else {
                    return Err(err(format!("bad number syntax: {text:?}")));
                }
                i = j;
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                let mut j = i;
                while at(j).is_some_and(is_ident_char) {
                    j += 1;
                }
                toks.push(Tok::Ident(body[pos(start)..pos(j)].to_string()));
                i = j;
            }
            c => return Err(err(format!("unexpected {c:?} in command"))),
        }
    }
}

struct Parser {
    pieces: std::vec::IntoIter<Piece>,
}

/// What ended a list of nodes.
enum Stop {
    Eof,
    End,
    Else(Vec<Tok>),
}

pub fn parse(src: &str) -> Result<Vec<Node>, TemplateError> {
    let mut p = Parser { pieces: split(src)?.into_iter() };
    let (nodes, end) = p.list(0)?;
    match end {
        Stop::Eof => Ok(nodes),
        Stop::End => Err(err("unexpected {{end}}")),
        Stop::Else(_) => Err(err("unexpected {{else}}")),
    }
}

impl Parser {
    fn list(&mut self, depth: usize) -> Result<(Vec<Node>, Stop), TemplateError> {
        let mut nodes = Vec::new();
        while let Some(piece) = self.pieces.next() {
            let toks = match piece {
                Piece::Text(t) => {
                    nodes.push(Node::Text(t));
                    continue;
                }
                Piece::Action(t) => t,
            };
            match toks.first() {
                None => return Err(err("missing value for command")),
                Some(Tok::Ident(k)) if k == "end" => {
                    if toks.len() > 1 {
                        return Err(err("unexpected token in end"));
                    }
                    if depth == 0 {
                        return Err(err("unexpected {{end}}"));
                    }
                    return Ok((nodes, Stop::End));
                }
                Some(Tok::Ident(k)) if k == "else" => {
                    if depth == 0 {
                        return Err(err("unexpected {{else}}"));
                    }
                    return Ok((nodes, Stop::Else(toks[1..].to_vec())));
                }
                Some(Tok::Ident(k)) if k == "if" || k == "range" || k == "with" => {
                    let kind = k.clone();
                    nodes.push(self.block(&kind, &toks[1..], depth)?);
                }
                Some(Tok::Ident(k)) if k == "break" || k == "continue" => {
                    if toks.len() > 1 {
                        return Err(err(format!("unexpected token in {{{{{k}}}}}")));
                    }
                    nodes.push(if k == "break" { Node::Break } else { Node::Continue });
                }
                Some(Tok::Ident(k)) if k == "define" || k == "template" || k == "block" => {
                    return Err(err(format!("{{{{{k}}}}} is not supported")));
                }
                _ => nodes.push(Node::Action(pipeline(&toks)?)),
            }
        }
        Ok((nodes, Stop::Eof))
    }

    /// if/range/with after its keyword; `else if`/`else with` chain.
    fn block(&mut self, kind: &str, toks: &[Tok], depth: usize) -> Result<Node, TemplateError> {
        let pipe = pipeline(toks)?;
        if pipe.cmds.is_empty() {
            return Err(err(format!("missing value for {kind}")));
        }
        let (body, end) = self.list(depth + 1)?;
        let els = match end {
            Stop::Eof => return Err(err(format!("unexpected EOF: {{{{{kind}}}}} without {{{{end}}}}"))),
            Stop::End => Vec::new(),
            Stop::Else(rest) => match rest.first() {
                None => {
                    let (els, end) = self.list(depth + 1)?;
                    match end {
                        Stop::End => els,
                        Stop::Eof => return Err(err(format!("unexpected EOF: {{{{{kind}}}}} without {{{{end}}}}"))),
                        Stop::Else(_) => return Err(err("expected end; found {{else}}")),
                    }
                }
                // `else if X`: a nested if that consumes the one {{end}}
                Some(Tok::Ident(k)) if (k == "if" || k == "with") && (kind == "if" || kind == "with") => {
                    let k = k.clone();
                    vec![self.block(&k, &rest[1..], depth)?]
                }
                Some(_) => return Err(err("unexpected tokens after {{else}}")),
            },
        };
        Ok(match kind {
            "if" => Node::If { pipe, then: body, els },
            "range" => Node::Range { pipe, body, els },
            _ => Node::With { pipe, body, els },
        })
    }
}

/// A whole action's tokens as a pipeline (with its declarations).
fn pipeline(toks: &[Tok]) -> Result<Pipeline, TemplateError> {
    let mut decl = Vec::new();
    let mut assign = false;
    let mut rest = toks;
    // `$x :=`, `$i, $e :=`, `$x =`
    let mut j = 0;
    let mut vars = Vec::new();
    // (a variable with a field chain is a value, never a declaration)
    while let Some(Tok::Var(v, chain)) = rest.get(j) {
        if !chain.is_empty() {
            break;
        }
        vars.push(v.clone());
        match rest.get(j + 1) {
            Some(Tok::Comma) => j += 2,
            Some(Tok::Declare) | Some(Tok::Assign) => {
                assign = rest.get(j + 1) == Some(&Tok::Assign);
                decl = vars.clone();
                rest = &rest[j + 2..];
                break;
            }
            _ => break,
        }
    }
    if decl.len() > 2 {
        return Err(err("too many declarations"));
    }
    let mut cmds = Vec::new();
    let mut pos = 0;
    let mut ts = rest.to_vec();
    ts.push(Tok::Pipe); // sentinel
    let mut cur = Vec::new();
    while pos < ts.len() {
        if ts[pos] == Tok::Pipe {
            if cur.is_empty() {
                return Err(err("missing command in pipeline"));
            }
            cmds.push(Command { args: std::mem::take(&mut cur) });
            pos += 1;
            continue;
        }
        let (op, next) = operand(&ts, pos)?;
        cur.push(op);
        pos = next;
    }
    if cmds.is_empty() && !decl.is_empty() {
        return Err(err("missing value for declaration"));
    }
    Ok(Pipeline { decl, assign, cmds })
}

/// One operand at `pos` (with the field chain that follows it).
fn operand(ts: &[Tok], pos: usize) -> Result<(Operand, usize), TemplateError> {
    match &ts[pos] {
        Tok::Dot => Ok((Operand::Dot(Vec::new()), pos + 1)),
        Tok::Field(f) => Ok((Operand::Dot(f.clone()), pos + 1)),
        Tok::Var(v, f) => Ok((Operand::Var(v.clone(), f.clone()), pos + 1)),
        Tok::Chain(_) => Err(err("unexpected field chain")),
        Tok::Str(s) => Ok((Operand::Str(s.clone()), pos + 1)),
        Tok::Int(n) => Ok((Operand::Int(*n), pos + 1)),
        Tok::Float(n) => Ok((Operand::Float(*n), pos + 1)),
        Tok::Ident(k) => Ok((
            match k.as_str() {
                "true" => Operand::Bool(true),
                "false" => Operand::Bool(false),
                "nil" => Operand::Nil,
                _ => Operand::Func(k.clone()),
            },
            pos + 1,
        )),
        Tok::LParen => {
            // up to the matching parenthesis
            let mut depth = 0;
            let mut end = pos;
            for (k, t) in ts.iter().enumerate().skip(pos) {
                match t {
                    Tok::LParen => depth += 1,
                    Tok::RParen => {
                        depth -= 1;
                        if depth == 0 {
                            end = k;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            if end == pos {
                return Err(err("unclosed left paren"));
            }
            let inner = pipeline(&ts[pos + 1..end])?;
            if inner.cmds.is_empty() {
                return Err(err("missing command in parenthesized pipeline"));
            }
            match ts.get(end + 1) {
                Some(Tok::Chain(f)) => Ok((Operand::Sub(Box::new(inner), f.clone()), end + 2)),
                _ => Ok((Operand::Sub(Box::new(inner), Vec::new()), end + 1)),
            }
        }
        Tok::RParen => Err(err("unexpected right paren")),
        Tok::Comma => Err(err("unexpected \",\" in command")),
        Tok::Declare | Tok::Assign => Err(err("unexpected \":=\" or \"=\" in command")),
        Tok::Pipe => Err(err("missing command in pipeline")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_pipes_and_trim() {
        let n = parse("a {{- .State.Pid | printf \"%d\" -}} b").unwrap();
        assert_eq!(n.len(), 3);
        assert_eq!(n[0], Node::Text("a".into()));
        assert_eq!(n[2], Node::Text("b".into()));
        let Node::Action(p) = &n[1] else { panic!() };
        assert_eq!(p.cmds[0].args, vec![Operand::Dot(vec!["State".into(), "Pid".into()])]);
        assert_eq!(p.cmds[1].args, vec![Operand::Func("printf".into()), Operand::Str("%d".into())]);
    }

    #[test]
    fn blocks_nest_and_else_if_chains() {
        let n = parse("{{if .A}}a{{else if .B}}b{{else}}c{{end}}{{range $i, $e := .L}}{{$i}}{{end}}").unwrap();
        assert_eq!(n.len(), 2);
        let Node::If { els, .. } = &n[0] else { panic!() };
        assert!(matches!(&els[0], Node::If { els, .. } if els == &vec![Node::Text("c".into())]));
        let Node::Range { pipe, .. } = &n[1] else { panic!() };
        assert_eq!(pipe.decl, vec!["i".to_string(), "e".into()]);
    }

    #[test]
    fn errors_are_reported() {
        for bad in ["{{.A", "{{if .A}}x", "{{end}}", "{{else}}", "{{\"x}}", "{{(.A}}", "{{ | }}", "{{define \"x\"}}{{end}}", "{{.A ~}}"] {
            assert!(parse(bad).is_err(), "{bad} parsed");
        }
    }

    #[test]
    fn comments_and_numbers() {
        let n = parse("{{/* c */}}{{-3}} {{ 1.5 }}").unwrap();
        let Node::Action(p) = &n[0] else { panic!("{n:?}") };
        assert_eq!(p.cmds[0].args, vec![Operand::Int(-3)]);
        assert!(matches!(&n[2], Node::Action(p) if p.cmds[0].args == vec![Operand::Float(1.5)]));
    }

    #[test]
    fn parenthesised_with_fields() {
        let n = parse("{{(index .L 0).Name}}").unwrap();
        let Node::Action(p) = &n[0] else { panic!() };
        assert!(matches!(&p.cmds[0].args[0], Operand::Sub(_, f) if f == &vec!["Name".to_string()]));
    }
}
