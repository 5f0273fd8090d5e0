//! RON value fragments (`5`, `"200ms"`, `FullJitter(base: "5ms", cap: "2s")`,
//! `[1, 2]`, `Some(3)`) turned into serde_json values in serde's externally
//! tagged form, so an override can be set at a path of the serialized
//! scenario and the result deserialized with full type checking.
//!
//! `ron::Value` cannot be used for this: it drops enum variant names.
//! Conventions: `Name(k: v, ...)` is a struct variant, `Name(v)` a newtype
//! variant, `Name(a, b)` a tuple variant, a bare `Name` a unit variant;
//! `Some(v)` is `v`, `None` is null, `(k: v)` an anonymous struct, `(a, b)`
//! a tuple, `[..]` a list and `{k: v}` a map.

use serde_json::{Map, Number, Value};

/// The length in bytes of the RON comment `rest` starts with: a line
/// comment up to (not including) its newline, or a block comment with the
/// block comments nested inside it (RON nests them, like Rust); an
/// unterminated block comment runs to the end. `None` when `rest` does not
/// start with a comment. The one comment lexer of scenario and sweep files.
pub fn comment_len(rest: &str) -> Option<usize> {
    if rest.starts_with("//") {
        return Some(rest.find('\n').unwrap_or(rest.len()));
    }
    if !rest.starts_with("/*") {
        return None;
    }
    let bytes = rest.as_bytes();
    let (mut i, mut depth) = (2, 1);
    while depth > 0 && i < bytes.len() {
        match (bytes[i], bytes.get(i + 1)) {
            (b'*', Some(b'/')) => {
                depth -= 1;
                i += 2;
            }
            (b'/', Some(b'*')) => {
                depth += 1;
                i += 2;
            }
            _ => i += 1,
        }
    }
    Some(i.min(bytes.len()))
}

/// Parses one RON value. Errors give the 1-based column.
pub fn parse_fragment(text: &str) -> Result<Value, String> {
    let mut p = Parser {
        chars: text.chars().collect(),
        pos: 0,
    };
    let v = p.value()?;
    p.skip_ws();
    if p.pos < p.chars.len() {
        return Err(p.err("unexpected text after the value"));
    }
    Ok(v)
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    fn err(&self, msg: &str) -> String {
        format!("column {}: {msg}", self.pos + 1)
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        loop {
            while self.peek().is_some_and(char::is_whitespace) {
                self.pos += 1;
            }
            if self.peek() != Some('/') {
                return;
            }
            let rest: String = self.chars[self.pos..].iter().collect();
            match comment_len(&rest) {
                Some(n) => self.pos += rest[..n].chars().count(),
                None => return,
            }
        }
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.err(&format!("expected `{c}`")))
        }
    }

    fn value(&mut self) -> Result<Value, String> {
        self.skip_ws();
        match self.peek() {
            None => Err(self.err("expected a value")),
            Some('"') => self.string().map(Value::String),
            Some('[') => {
                self.pos += 1;
                let items = self.items(']')?;
                Ok(Value::Array(items))
            }
            Some('{') => {
                self.pos += 1;
                let mut map = Map::new();
                loop {
                    if self.eat('}') {
                        break;
                    }
                    let key = match self.value()? {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    self.expect(':')?;
                    map.insert(key, self.value()?);
                    if !self.eat(',') {
                        self.expect('}')?;
                        break;
                    }
                }
                Ok(Value::Object(map))
            }
            Some('(') => {
                self.pos += 1;
                self.parenthesised()
            }
            Some(c) if c == '-' || c == '+' || c == '.' || c.is_ascii_digit() => self.number(),
            Some(c) if c.is_alphabetic() || c == '_' => {
                let name = self.ident();
                match name.as_str() {
                    "true" => return Ok(Value::Bool(true)),
                    "false" => return Ok(Value::Bool(false)),
                    "None" => return Ok(Value::Null),
                    _ => {}
                }
                self.skip_ws();
                if self.peek() != Some('(') {
                    return Ok(Value::String(name)); // unit variant
                }
                self.pos += 1;
                let inner = self.parenthesised()?;
                if name == "Some" {
                    return Ok(match inner {
                        Value::Array(mut a) if a.len() == 1 => a.remove(0),
                        other => other,
                    });
                }
                let inner = match inner {
                    Value::Array(mut a) if a.len() == 1 => a.remove(0),
                    other => other,
                };
                let mut map = Map::new();
                map.insert(name, inner);
                Ok(Value::Object(map))
            }
            Some(c) => Err(self.err(&format!("unexpected character `{c}`"))),
        }
    }

    /// After `(`: either `k: v, ...` (an object) or `a, b, ...` (an array;
    /// `()` is an empty array).
    fn parenthesised(&mut self) -> Result<Value, String> {
        self.skip_ws();
        let save = self.pos;
        if self.peek().is_some_and(|c| c.is_alphabetic() || c == '_') {
            let key = self.ident();
            if self.eat(':') {
                let mut map = Map::new();
                map.insert(key, self.value()?);
                loop {
                    if !self.eat(',') {
                        self.expect(')')?;
                        break;
                    }
                    if self.eat(')') {
                        break;
                    }
                    self.skip_ws();
                    let k = self.ident();
                    if k.is_empty() {
                        return Err(self.err("expected a field name"));
                    }
                    self.expect(':')?;
                    map.insert(k, self.value()?);
                }
                return Ok(Value::Object(map));
            }
            self.pos = save;
        }
        Ok(Value::Array(self.items(')')?))
    }

    fn items(&mut self, close: char) -> Result<Vec<Value>, String> {
        let mut items = Vec::new();
        loop {
            if self.eat(close) {
                return Ok(items);
            }
            items.push(self.value()?);
            if !self.eat(',') {
                self.expect(close)?;
                return Ok(items);
            }
        }
    }

    fn ident(&mut self) -> String {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    fn string(&mut self) -> Result<String, String> {
        self.pos += 1; // opening quote
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(self.err("unterminated string")),
                Some('"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some('\\') => {
                    self.pos += 1;
                    let c = self.peek().ok_or_else(|| self.err("unterminated escape"))?;
                    out.push(match c {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        '0' => '\0',
                        other => other,
                    });
                    self.pos += 1;
                }
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn number(&mut self) -> Result<Value, String> {
        let start = self.pos;
        while self.peek().is_some_and(|c| {
            c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '+' || c == '_'
        }) {
            self.pos += 1;
        }
        let raw: String = self.chars[start..self.pos]
            .iter()
            .filter(|&&c| c != '_')
            .collect();
        if let Ok(i) = raw.parse::<i64>() {
            return Ok(Value::Number(i.into()));
        }
        if let Ok(u) = raw.parse::<u64>() {
            return Ok(Value::Number(u.into()));
        }
        match raw.parse::<f64>().ok().and_then(Number::from_f64) {
            Some(n) => Ok(Value::Number(n)),
            None => Err(format!(
                "column {}: {raw:?} is not a number (durations need quotes: \"{raw}\")",
                start + 1
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scalars() {
        assert_eq!(parse_fragment("5").unwrap(), json!(5));
        assert_eq!(parse_fragment("-2.5").unwrap(), json!(-2.5));
        assert_eq!(parse_fragment("1e3").unwrap(), json!(1000.0));
        assert_eq!(parse_fragment("\"200ms\"").unwrap(), json!("200ms"));
        assert_eq!(parse_fragment("true").unwrap(), json!(true));
        assert_eq!(parse_fragment("None").unwrap(), json!(null));
        assert_eq!(parse_fragment("Some(4)").unwrap(), json!(4));
        assert_eq!(parse_fragment("Fifo").unwrap(), json!("Fifo"));
    }

    #[test]
    fn variants_keep_their_names() {
        assert_eq!(
            parse_fragment(r#"FullJitter(base: "5ms", cap: "2s")"#).unwrap(),
            json!({"FullJitter": {"base": "5ms", "cap": "2s"}})
        );
        assert_eq!(
            parse_fragment(r#"Constant("10ms")"#).unwrap(),
            json!({"Constant": "10ms"})
        );
        assert_eq!(
            parse_fragment("ConsecutiveFailures(5)").unwrap(),
            json!({"ConsecutiveFailures": 5})
        );
    }

    #[test]
    fn comments_nest_and_run_to_the_end_when_unterminated() {
        assert_eq!(comment_len("// a\nb"), Some(4));
        assert_eq!(comment_len("/* a /* b */ c */d"), Some(17));
        assert_eq!(comment_len("/* open /* inner */"), Some(19));
        assert_eq!(comment_len("x // y"), None);
    }

    #[test]
    fn structs_lists_maps_and_comments() {
        assert_eq!(
            parse_fragment("(max_attempts: 5, retry_on: [Error, Timeout],)").unwrap(),
            json!({"max_attempts": 5, "retry_on": ["Error", "Timeout"]})
        );
        assert_eq!(
            parse_fragment("(\"1s\", \"2s\")").unwrap(),
            json!(["1s", "2s"])
        );
        assert_eq!(parse_fragment("{\"a\": 1}").unwrap(), json!({"a": 1}));
        assert_eq!(
            parse_fragment("[ // one\n 1, /* two /* nested */ still */ 2 ]").unwrap(),
            json!([1, 2])
        );
    }

    #[test]
    fn errors_point_at_the_column() {
        assert!(
            parse_fragment("(a: 1")
                .unwrap_err()
                .contains("expected `)`")
        );
        assert!(
            parse_fragment("5ms")
                .unwrap_err()
                .contains("durations need quotes")
        );
        assert!(parse_fragment("1 2").unwrap_err().starts_with("column 3"));
        assert!(
            parse_fragment("\"abc")
                .unwrap_err()
                .contains("unterminated")
        );
    }
}
