//! The functions a template can call: Go's builtins (not, len, index,
//! slice, print, printf, println, eq, ne, lt, le, gt, ge; and/or live in
//! `exec`) and the ones Docker's CLI adds (json, join, split, lower,
//! upper, title, truncate, pad).
use super::value::{err, number_text, print, truthy, Val};
use super::TemplateError;
use serde_json::Value;

fn want(name: &str, args: &[Val], n: usize) -> Result<(), TemplateError> {
    if args.len() != n {
        return Err(err(format!("wrong number of args for {name}: want {n} got {}", args.len())));
    }
    Ok(())
}

fn text_of(v: &Val) -> String {
    let mut s = String::new();
    print(v, &mut s);
    s
}

fn string_arg(name: &str, v: &Val) -> Result<String, TemplateError> {
    match v {
        Some(Value::String(s)) => Ok(s.clone()),
        _ => Err(err(format!("{name}: expected a string, got {}", text_of(v)))),
    }
}

fn int_arg(name: &str, v: &Val) -> Result<i64, TemplateError> {
    match v {
        Some(Value::Number(n)) => n.as_i64().ok_or_else(|| err(format!("{name}: {n} is not an integer"))),
        _ => Err(err(format!("{name}: expected an integer, got {}", text_of(v)))),
    }
}

pub fn call(name: &str, args: Vec<Val>) -> Result<Val, TemplateError> {
    let s = |x: String| Ok(Some(Value::String(x)));
    match name {
        "json" => {
            want(name, &args, 1)?;
            // Docker's json: no HTML escaping, no trailing newline
            let v = args[0].clone().unwrap_or(Value::Null);
            s(serde_json::to_string(&v).map_err(|e| err(format!("json: {e}")))?)
        }
        "join" => {
            want(name, &args, 2)?;
            let sep = string_arg(name, &args[1])?;
            match &args[0] {
                Some(Value::Array(a)) => s(a.iter().map(|e| text_of(&Some(e.clone()))).collect::<Vec<_>>().join(&sep)),
                None | Some(Value::Null) => s(String::new()),
                other => Err(err(format!("join: expected a list, got {}", text_of(other)))),
            }
        }
        "split" => {
            want(name, &args, 2)?;
            let text = string_arg(name, &args[0])?;
            let sep = string_arg(name, &args[1])?;
            let parts: Vec<Value> = if sep.is_empty() { text.chars().map(|c| Value::String(c.to_string())).collect() } else { text.split(sep.as_str()).map(|p| Value::String(p.into())).collect() };
            Ok(Some(Value::Array(parts)))
        }
        "lower" => {
            want(name, &args, 1)?;
            s(text_of(&args[0]).to_lowercase())
        }
        "upper" => {
            want(name, &args, 1)?;
            s(text_of(&args[0]).to_uppercase())
        }
        "title" => {
            want(name, &args, 1)?;
            let t = text_of(&args[0]);
            let mut out = String::with_capacity(t.len());
            let mut start = true;
            for c in t.chars() {
                if start && c.is_alphabetic() {
                    out.extend(c.to_uppercase());
                } else {
                    out.push(c);
                }
                start = !c.is_alphanumeric();
            }
            s(out)
        }
        "truncate" => {
            want(name, &args, 2)?;
            let t = text_of(&args[0]);
            let n = int_arg(name, &args[1])?.max(0) as usize;
            s(t.chars().take(n).collect())
        }
        "pad" => {
            want(name, &args, 3)?;
            let t = text_of(&args[0]);
            let l = int_arg(name, &args[1])?.max(0) as usize;
            let r = int_arg(name, &args[2])?.max(0) as usize;
            s(format!("{}{t}{}", " ".repeat(l), " ".repeat(r)))
        }
        "not" => {
            want(name, &args, 1)?;
            Ok(Some(Value::Bool(!truthy(&args[0]))))
        }
        "len" => {
            want(name, &args, 1)?;
            let n = match &args[0] {
                Some(Value::String(x)) => x.len(),
                Some(Value::Array(a)) => a.len(),
                Some(Value::Object(o)) => o.len(),
                other => return Err(err(format!("len of {}", text_of(other)))),
            };
            Ok(Some(Value::from(n as i64)))
        }
        "index" => {
            if args.is_empty() {
                return Err(err("wrong number of args for index: want at least 1 got 0"));
            }
            let mut v = args[0].clone();
            for k in &args[1..] {
                v = match (v, k) {
                    (Some(Value::Object(mut o)), Some(Value::String(key))) => o.remove(key),
                    (Some(Value::Array(a)), Some(Value::Number(n))) => {
                        let i = n.as_i64().filter(|i| *i >= 0 && (*i as usize) < a.len()).ok_or_else(|| err(format!("index out of range: {n}")))?;
                        Some(a[i as usize].clone())
                    }
                    (Some(Value::String(t)), Some(Value::Number(n))) => {
                        let i = n.as_i64().filter(|i| *i >= 0 && (*i as usize) < t.len()).ok_or_else(|| err(format!("index out of range: {n}")))?;
                        Some(Value::from(t.as_bytes()[i as usize] as i64))
                    }
                    (None, _) | (Some(Value::Null), _) => return Err(err("index of untyped nil")),
                    (v, k) => return Err(err(format!("can't index item of type {} with {}", text_of(&v), text_of(k)))),
                };
            }
            Ok(v)
        }
        "slice" => {
            if args.is_empty() || args.len() > 3 {
                return Err(err(format!("wrong number of args for slice: want 1 to 3 got {}", args.len())));
            }
            let idx: Vec<i64> = args[1..].iter().map(|a| int_arg(name, a)).collect::<Result<_, _>>()?;
            match &args[0] {
                Some(Value::String(t)) => {
                    let (a, b) = (idx.first().copied().unwrap_or(0), idx.get(1).copied().unwrap_or(t.len() as i64));
                    if a < 0 || b < a || b as usize > t.len() || !t.is_char_boundary(a as usize) || !t.is_char_boundary(b as usize) {
                        return Err(err(format!("slice: index out of range: {a}:{b}")));
                    }
                    s(t[a as usize..b as usize].to_string())
                }
                Some(Value::Array(l)) => {
                    let (a, b) = (idx.first().copied().unwrap_or(0), idx.get(1).copied().unwrap_or(l.len() as i64));
                    if a < 0 || b < a || b as usize > l.len() {
                        return Err(err(format!("slice: index out of range: {a}:{b}")));
                    }
                    Ok(Some(Value::Array(l[a as usize..b as usize].to_vec())))
                }
                other => Err(err(format!("can't slice item of type {}", text_of(other)))),
            }
        }
        "print" => {
            // Go's Sprint: a space between operands when neither is a string
            let mut out = String::new();
            for (i, a) in args.iter().enumerate() {
                let is_str = |v: &Val| matches!(v, Some(Value::String(_)));
                if i > 0 && !is_str(a) && !is_str(&args[i - 1]) {
                    out.push(' ');
                }
                print(a, &mut out);
            }
            s(out)
        }
        "println" => s(args.iter().map(text_of).collect::<Vec<_>>().join(" ") + "\n"),
        "printf" => {
            if args.is_empty() {
                return Err(err("wrong number of args for printf: want at least 1 got 0"));
            }
            let f = string_arg(name, &args[0])?;
            s(sprintf(&f, &args[1..]))
        }
        "eq" => {
            if args.len() < 2 {
                return Err(err("missing argument for comparison"));
            }
            Ok(Some(Value::Bool(args[1..].iter().any(|b| equal(&args[0], b)))))
        }
        "ne" => {
            want(name, &args, 2)?;
            Ok(Some(Value::Bool(!equal(&args[0], &args[1]))))
        }
        "lt" | "le" | "gt" | "ge" => {
            want(name, &args, 2)?;
            let ord = compare(&args[0], &args[1])?;
            let r = match name {
                "lt" => ord.is_lt(),
                "le" => ord.is_le(),
                "gt" => ord.is_gt(),
                _ => ord.is_ge(),
            };
            Ok(Some(Value::Bool(r)))
        }
        _ => Err(TemplateError::Parse(format!("function \"{name}\" not defined"))),
    }
}

fn equal(a: &Val, b: &Val) -> bool {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x.as_f64() == y.as_f64(),
        (None, None) | (None, Some(Value::Null)) | (Some(Value::Null), None) => true,
        _ => a == b,
    }
}

fn compare(a: &Val, b: &Val) -> Result<std::cmp::Ordering, TemplateError> {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x.as_f64().partial_cmp(&y.as_f64()).ok_or_else(|| err("incomparable numbers")),
        (Some(Value::String(x)), Some(Value::String(y))) => Ok(x.cmp(y)),
        _ => Err(err(format!("incompatible types for comparison: {} and {}", text_of(a), text_of(b)))),
    }
}

/// The verbs of Go's Printf that templates use: %s %v %d %q %f %x %%,
/// with width and precision.
fn sprintf(f: &str, args: &[Val]) -> String {
    let mut out = String::new();
    let mut it = f.chars().peekable();
    let mut next = 0;
    while let Some(c) = it.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut flags = String::new();
        while let Some(&d) = it.peek() {
            if "-+ 0#".contains(d) {
                flags.push(d);
                it.next();
            } else {
                break;
            }
        }
        let mut width = String::new();
        while let Some(&d) = it.peek().filter(|d| d.is_ascii_digit()) {
            width.push(d);
            it.next();
        }
        let mut prec: Option<usize> = None;
        if it.peek() == Some(&'.') {
            it.next();
            let mut p = String::new();
            while let Some(&d) = it.peek().filter(|d| d.is_ascii_digit()) {
                p.push(d);
                it.next();
            }
            prec = Some(p.parse().unwrap_or(0));
        }
        let Some(verb) = it.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(next) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        next += 1;
        let body = match (verb, arg) {
            ('d', Some(Value::Number(n))) => number_text(n),
            ('x', Some(Value::Number(n))) => n.as_i64().map(|i| format!("{i:x}")).unwrap_or_else(|| number_text(n)),
            ('f', Some(Value::Number(n))) => format!("{:.*}", prec.unwrap_or(6), n.as_f64().unwrap_or(0.0)),
            ('q', v) => format!("{:?}", text_of(v)),
            ('s' | 'v', v) => {
                let t = text_of(v);
                match prec {
                    Some(p) => t.chars().take(p).collect(),
                    None => t,
                }
            }
            (v, a) => format!("%!{v}({})", text_of(a)),
        };
        let w: usize = width.parse().unwrap_or(0);
        let len = body.chars().count();
        if len < w {
            let pad = w - len;
            if flags.contains('-') {
                out.push_str(&body);
                out.push_str(&" ".repeat(pad));
            } else {
                let fill = if flags.contains('0') && matches!(verb, 'd' | 'f' | 'x') { "0" } else { " " };
                out.push_str(&fill.repeat(pad));
                out.push_str(&body);
            }
        } else {
            out.push_str(&body);
        }
    }
    if next < args.len() {
        out.push_str("%!(EXTRA ");
        out.push_str(&args[next..].iter().map(text_of).collect::<Vec<_>>().join(", "));
        out.push(')');
    }
    out
}
