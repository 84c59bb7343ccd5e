//! Values during execution and how Go prints them.
use super::TemplateError;
use serde_json::Value;

/// A value during execution: `None` is a missing map key (Go prints
/// `<no value>`), `Some(Null)` is nil (`<nil>`).
pub type Val = Option<Value>;

pub fn err(msg: impl Into<String>) -> TemplateError {
    TemplateError::Exec(msg.into())
}

/// Go's truth: false, 0, nil, "" and empty lists and maps are false.
pub fn truthy(v: &Val) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
    }
}

/// `%v` of a value as Go prints a decoded value: `[a b]`, `map[k:v]`.
pub fn print(v: &Val, out: &mut String) {
    match v {
        None => out.push_str("<no value>"),
        Some(v) => print_value(v, out),
    }
}

fn print_value(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number_text(n)),
        Value::String(s) => out.push_str(s),
        Value::Array(a) => {
            out.push('[');
            for (i, e) in a.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                print_value(e, out);
            }
            out.push(']');
        }
        Value::Object(o) => {
            out.push_str("map[");
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                print_value(&o[k], out);
            }
            out.push(']');
        }
    }
}

/// Integers as integers (Docker's fields are ints), other numbers as Go's
/// shortest `%v`.
pub fn number_text(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    if f.fract() == 0.0 && f.abs() < 1e21 {
        format!("{f:.0}")
    } else {
        format!("{f}")
    }
}

