//! Runs a parsed template over a JSON value, printing values as Go's
//! `fmt` prints the ones Docker's structs hold.
use super::funcs;
use super::parse::{Command, Node, Operand, Pipeline};
use super::value::{err, print, truthy, Val};
use super::TemplateError;
use serde_json::Value;

enum Flow {
    Normal,
    Break,
    Continue,
}

pub struct Exec<'a> {
    out: &'a mut String,
    vars: Vec<(String, Val)>,
}

pub fn run(nodes: &[Node], data: &Value, out: &mut String) -> Result<(), TemplateError> {
    let mut ex = Exec { out, vars: vec![(String::new(), Some(data.clone()))] };
    let dot = Some(data.clone());
    match ex.list(nodes, &dot, 0)? {
        Flow::Normal => Ok(()),
        _ => Err(err("{{break}} or {{continue}} outside {{range}}")),
    }
}

impl Exec<'_> {
    fn list(&mut self, nodes: &[Node], dot: &Val, loops: usize) -> Result<Flow, TemplateError> {
        for n in nodes {
            match n {
                Node::Text(t) => self.out.push_str(t),
                Node::Action(p) => {
                    let v = self.pipeline(p, dot)?;
                    if p.decl.is_empty() {
                        print(&v, self.out);
                    }
                }
                Node::If { pipe, then, els } => {
                    let mark = self.vars.len();
                    let v = self.pipeline(pipe, dot)?;
                    let flow = if truthy(&v) { self.list(then, dot, loops)? } else { self.list(els, dot, loops)? };
                    self.vars.truncate(mark);
                    if !matches!(flow, Flow::Normal) {
                        return Ok(flow);
                    }
                }
                Node::With { pipe, body, els } => {
                    let mark = self.vars.len();
                    let v = self.pipeline(pipe, dot)?;
                    let flow = if truthy(&v) { self.list(body, &v, loops)? } else { self.list(els, dot, loops)? };
                    self.vars.truncate(mark);
                    if !matches!(flow, Flow::Normal) {
                        return Ok(flow);
                    }
                }
                Node::Range { pipe, body, els } => {
                    let mark = self.vars.len();
                    // the declared variables take key/index and element
                    let decl = pipe.decl.clone();
                    let bare = Pipeline { decl: Vec::new(), assign: false, cmds: pipe.cmds.clone() };
                    let v = self.pipeline(&bare, dot)?;
                    let items: Vec<(Value, Value)> = match &v {
                        None | Some(Value::Null) => Vec::new(),
                        Some(Value::Array(a)) => a.iter().enumerate().map(|(i, e)| (Value::from(i as i64), e.clone())).collect(),
                        Some(Value::Object(o)) => {
                            let mut keys: Vec<&String> = o.keys().collect();
                            keys.sort();
                            keys.into_iter().map(|k| (Value::String(k.clone()), o[k].clone())).collect()
                        }
                        Some(Value::Number(n)) if n.as_i64().is_some_and(|i| i >= 0) => {
                            (0..n.as_i64().unwrap_or(0)).map(|i| (Value::from(i), Value::from(i))).collect()
                        }
                        Some(other) => return Err(err(format!("range can't iterate over {}", short(other)))),
                    };
                    if items.is_empty() {
                        let flow = self.list(els, dot, loops)?;
                        self.vars.truncate(mark);
                        if !matches!(flow, Flow::Normal) {
                            return Ok(flow);
                        }
                        continue;
                    }
                    for (k, e) in items {
                        self.vars.truncate(mark);
                        match decl.len() {
                            1 => self.vars.push((decl[0].clone(), Some(e.clone()))),
                            2 => {
                                self.vars.push((decl[0].clone(), Some(k)));
                                self.vars.push((decl[1].clone(), Some(e.clone())));
                            }
                            _ => {}
                        }
                        match self.list(body, &Some(e), loops + 1)? {
                            Flow::Break => break,
                            Flow::Continue | Flow::Normal => {}
                        }
                    }
                    self.vars.truncate(mark);
                }
                Node::Break if loops > 0 => return Ok(Flow::Break),
                Node::Continue if loops > 0 => return Ok(Flow::Continue),
                Node::Break | Node::Continue => return Err(err("{{break}} or {{continue}} outside {{range}}")),
            }
        }
        Ok(Flow::Normal)
    }

    fn pipeline(&mut self, p: &Pipeline, dot: &Val) -> Result<Val, TemplateError> {
        let mut prev: Option<Val> = None;
        for c in &p.cmds {
            prev = Some(self.command(c, dot, prev)?);
        }
        let v = prev.unwrap_or(None);
        if p.assign {
            let name = &p.decl[0];
            let slot = self.vars.iter_mut().rev().find(|(n, _)| n == name).ok_or_else(|| err(format!("undefined variable: ${name}")))?;
            slot.1 = v.clone();
        } else {
            for d in &p.decl {
                self.vars.push((d.clone(), v.clone()));
            }
        }
        Ok(v)
    }

    fn command(&mut self, c: &Command, dot: &Val, piped: Option<Val>) -> Result<Val, TemplateError> {
        let first = &c.args[0];
        if let Operand::Func(name) = first {
            // and/or evaluate lazily, as Go's do
            if name == "and" || name == "or" {
                let mut last = None;
                let n = c.args.len() - 1 + usize::from(piped.is_some());
                if n == 0 {
                    return Err(err(format!("wrong number of args for {name}: want at least 1 got 0")));
                }
                for a in &c.args[1..] {
                    let v = self.operand(a, dot)?;
                    if truthy(&v) == (name == "or") {
                        return Ok(v);
                    }
                    last = Some(v);
                }
                if let Some(v) = piped {
                    return Ok(v);
                }
                return Ok(last.unwrap_or(None));
            }
            let mut args = Vec::with_capacity(c.args.len());
            for a in &c.args[1..] {
                args.push(self.operand(a, dot)?);
            }
            if let Some(v) = piped {
                args.push(v);
            }
            return funcs::call(name, args);
        }
        if c.args.len() > 1 || piped.is_some() {
            return Err(err(format!("can't give argument to non-function {}", describe(first))));
        }
        self.operand(first, dot)
    }

    fn operand(&mut self, op: &Operand, dot: &Val) -> Result<Val, TemplateError> {
        Ok(match op {
            Operand::Dot(fields) => fields_of(dot.clone(), fields)?,
            Operand::Var(name, fields) => {
                let v = self.vars.iter().rev().find(|(n, _)| n == name).ok_or_else(|| err(format!("undefined variable: ${name}")))?.1.clone();
                fields_of(v, fields)?
            }
            Operand::Func(name) => funcs::call(name, Vec::new())?,
            Operand::Str(s) => Some(Value::String(s.clone())),
            Operand::Int(n) => Some(Value::from(*n)),
            Operand::Float(f) => Some(serde_json::Number::from_f64(*f).map(Value::Number).unwrap_or(Value::Null)),
            Operand::Bool(b) => Some(Value::Bool(*b)),
            Operand::Nil => return Err(err("nil is not a command")),
            Operand::Sub(p, fields) => {
                let v = self.pipeline(p, dot)?;
                fields_of(v, fields)?
            }
        })
    }
}

fn describe(op: &Operand) -> String {
    match op {
        Operand::Dot(f) if f.is_empty() => ".".into(),
        Operand::Dot(f) => format!(".{}", f.join(".")),
        Operand::Var(n, f) => format!("${n}{}", f.iter().map(|x| format!(".{x}")).collect::<String>()),
        Operand::Str(s) => format!("{s:?}"),
        Operand::Int(n) => n.to_string(),
        Operand::Float(f) => f.to_string(),
        Operand::Bool(b) => b.to_string(),
        _ => "value".into(),
    }
}

fn short(v: &Value) -> &'static str {
    match v {
        Value::Null => "nil",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "map",
    }
}

/// `.A.B` on a value: keys of maps; a missing key is `<no value>`.
fn fields_of(mut v: Val, fields: &[String]) -> Result<Val, TemplateError> {
    for f in fields {
        v = match v {
            Some(Value::Object(mut o)) => o.remove(f),
            None => None,
            Some(Value::Null) => return Err(err(format!("nil pointer evaluating .{f}"))),
            Some(other) => return Err(err(format!("can't evaluate field {f} in type {}", short(&other)))),
        };
    }
    Ok(v)
}
