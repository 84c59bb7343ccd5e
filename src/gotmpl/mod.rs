//! Go's text/template, as the Docker CLI's `--format` uses it, over JSON
//! values: `{{.State.Pid}}`, `{{json .}}`, `{{range .Mounts}}...{{end}}`,
//! `{{if eq .State.Status "running"}}...{{end}}`, `{{join .Args " "}}`.
//! `parse` checks the whole template (unknown functions included) before
//! anything runs; `Template::render` executes it over a value.
//! The `table` prefix and `\t` escapes are the CLI's business
//! (lua/lib/fmt.lua), as they are docker's.
mod exec;
mod funcs;
mod parse;
mod value;

use parse::{Node, Operand, Pipeline};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TemplateError {
    #[error("template parsing error: {0}")]
    Parse(String),
    #[error("template: executing: {0}")]
    Exec(String),
}

/// A checked template.
#[derive(Debug, Clone)]
pub struct Template {
    nodes: Vec<Node>,
}

const FUNCTIONS: &[&str] = &[
    "and", "or", "not", "len", "index", "slice", "print", "printf", "println", "eq", "ne", "lt", "le", "gt", "ge", "json", "join", "split", "lower", "upper", "title", "truncate", "pad",
];

pub fn parse(src: &str) -> Result<Template, TemplateError> {
    let nodes = parse::parse(src)?;
    check_nodes(&nodes)?;
    Ok(Template { nodes })
}

fn check_nodes(nodes: &[Node]) -> Result<(), TemplateError> {
    for n in nodes {
        match n {
            Node::Action(p) => check_pipe(p)?,
            Node::If { pipe, then: a, els: b } | Node::Range { pipe, body: a, els: b } | Node::With { pipe, body: a, els: b } => {
                check_pipe(pipe)?;
                check_nodes(a)?;
                check_nodes(b)?;
            }
            Node::Text(_) | Node::Break | Node::Continue => {}
        }
    }
    Ok(())
}

fn check_pipe(p: &Pipeline) -> Result<(), TemplateError> {
    for c in &p.cmds {
        for (i, a) in c.args.iter().enumerate() {
            match a {
                Operand::Func(f) if !FUNCTIONS.contains(&f.as_str()) => {
                    return Err(TemplateError::Parse(format!("function \"{f}\" not defined")));
                }
                Operand::Nil if i == 0 && c.args.len() == 1 => return Err(TemplateError::Parse("nil is not a command".into())),
                Operand::Sub(inner, _) => check_pipe(inner)?,
                _ => {}
            }
        }
    }
    Ok(())
}

impl Template {
    pub fn render(&self, data: &serde_json::Value) -> Result<String, TemplateError> {
        let mut out = String::new();
        exec::run(&self.nodes, data, &mut out)?;
        Ok(out)
    }
}

/// Parses and renders in one step.
pub fn render(src: &str, data: &serde_json::Value) -> Result<String, TemplateError> {
    parse(src)?.render(data)
}

#[cfg(test)]
mod tests {
    use super::render;
    use serde_json::json;

    fn r(t: &str, v: &serde_json::Value) -> String {
        render(t, v).unwrap_or_else(|e| panic!("{t}: {e}"))
    }

    #[test]
    fn docker_inspect_shapes() {
        let c = json!({"Id": "abc", "State": {"Pid": 4242, "Status": "running", "Health": null},
            "Config": {"Env": ["A=1", "B=2"], "Labels": {"b": "2", "a": "1"}},
            "NetworkSettings": {"Networks": {"web": {"IPAddress": "10.1.0.2"}, "db": {"IPAddress": "10.2.0.2"}}}});
        assert_eq!(r("{{.State.Pid}}", &c), "4242");
        assert_eq!(r("{{.Config.Env}}", &c), "[A=1 B=2]");
        assert_eq!(r("{{.Config.Labels}}", &c), "map[a:1 b:2]");
        assert_eq!(r("{{json .Config.Labels}}", &c), r#"{"a":"1","b":"2"}"#);
        assert_eq!(r("{{.State.Health}}", &c), "<nil>");
        assert_eq!(r("{{.Nope}}", &c), "<no value>");
        assert_eq!(r("{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", &c), "10.2.0.2 10.1.0.2 ");
        assert_eq!(r("{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.IPAddress}};{{end}}", &c), "db=10.2.0.2;web=10.1.0.2;");
        assert_eq!(r("{{index .Config.Labels \"a\"}}", &c), "1");
        assert_eq!(r("{{(index .NetworkSettings.Networks \"web\").IPAddress}}", &c), "10.1.0.2");
        assert_eq!(r("{{if eq .State.Status \"running\" \"paused\"}}up{{else}}down{{end}}", &c), "up");
        assert_eq!(r("{{join .Config.Env \",\"}}", &c), "A=1,B=2");
        assert_eq!(r("{{.Id | upper}} {{lower \"X\"}} {{title \"hello world\"}}", &c), "ABC x Hello World");
        assert_eq!(r("{{printf \"%-6s|%5d|%.2f|%q\" .Id .State.Pid 1.5 \"x\"}}", &c), "abc   | 4242|1.50|\"x\"");
        assert_eq!(r("{{len .Config.Env}} {{slice .Id 1 2}} {{truncate .Id 2}} {{split \"a:b\" \":\"}}", &c), "2 b ab [a b]");
    }

    #[test]
    fn control_flow() {
        let v = json!({"L": [1, 2, 3, 4], "E": [], "T": true, "Z": 0});
        assert_eq!(r("{{range .L}}{{if eq . 3}}{{break}}{{end}}{{.}}{{end}}", &v), "12");
        assert_eq!(r("{{range .L}}{{if eq . 2}}{{continue}}{{end}}{{.}}{{end}}", &v), "134");
        assert_eq!(r("{{range .E}}x{{else}}empty{{end}}", &v), "empty");
        assert_eq!(r("{{with .Z}}nz{{else}}zero{{end}} {{with .T}}{{.}}{{end}}", &v), "zero true");
        assert_eq!(r("{{if and .T .Z}}a{{else if or .Z .T}}b{{end}}", &v), "b");
        assert_eq!(r("{{$x := 1}}{{range .L}}{{$x = .}}{{end}}{{$x}}", &v), "4");
        assert_eq!(r("{{- /* c */ -}}  {{ not .T }}  {{- \"!\" }}", &v), "false!");
        assert_eq!(r("{{if lt .Z 1}}less{{end}}{{if ge (len .L) 4}}four{{end}}", &v), "lessfour");
    }

    #[test]
    fn errors() {
        let v = json!({"S": "x"});
        assert!(matches!(render("{{nosuch .}}", &v), Err(super::TemplateError::Parse(_))));
        assert!(matches!(render("{{range .L}}{{nosuch}}{{end}}", &v), Err(super::TemplateError::Parse(_))));
        assert!(matches!(render("{{.S.Field}}", &v), Err(super::TemplateError::Exec(_))));
        assert!(matches!(render("{{.S 1}}", &v), Err(super::TemplateError::Exec(_))));
        assert!(matches!(render("{{range .S}}{{end}}", &v), Err(super::TemplateError::Exec(_))));
        assert!(render("{{break}}", &v).is_err());
        assert!(render("{{$nope}}", &v).is_err());
    }

    #[test]
    fn hostile_input_never_panics() {
        // random bytes and fragments of template syntax
        let frags = ["{{", "}}", "-", " ", ".", "A", "$", "(", ")", "|", "\"", "`", "if", "end", "else", "range", ":=", "=", ",", "1", "/*", "*/", "index", "printf", "%", "é"];
        let mut seed: u64 = 0x9e3779b97f4a7c15;
        let v = json!({"A": {"B": [1, "x", null]}, "L": [1, 2]});
        for _ in 0..20000 {
            let mut s = String::new();
            for _ in 0..(seed % 12) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                s.push_str(frags[(seed % frags.len() as u64) as usize]);
            }
            let _ = render(&s, &v);
        }
    }
}
