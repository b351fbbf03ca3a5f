//! PDF syntax: a tolerant tokenizer and object parser (ISO 32000-1 §7.2–7.3) for bytes
//! that may be damaged or hostile.
//!
//! Every call consumes at least one byte or reports the end, so loops over it always
//! finish; nesting (arrays, dictionaries) is bounded by [`MAX_NESTING`], so the recursion
//! cannot overflow the stack; nothing is allocated from a size written in the file.

/// Arrays and dictionaries nested deeper than this are cut (their content is dropped).
pub(super) const MAX_NESTING: u32 = 32;

/// A PDF object. Streams are not objects here: the document keeps their dictionary and
/// the byte range of their data.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Obj {
    Null,
    Bool(bool),
    Num(f64),
    /// A name, `#xx` escapes decoded, without the slash.
    Name(Vec<u8>),
    /// A literal or hex string, escapes decoded.
    Str(Vec<u8>),
    Array(Vec<Obj>),
    Dict(Dict),
    /// An indirect reference `n g R` (the generation is not needed to find objects).
    Ref(u32),
    /// A bare keyword: a content-stream operator, `stream`, `endobj`, or junk.
    Keyword(Vec<u8>),
}

/// A dictionary, in file order (they are small: a linear lookup is the fastest).
pub(super) type Dict = Vec<(Vec<u8>, Obj)>;

impl Obj {
    pub(super) fn as_dict(&self) -> Option<&Dict> {
        if let Obj::Dict(d) = self { Some(d) } else { None }
    }

    pub(super) fn as_num(&self) -> Option<f64> {
        if let Obj::Num(n) = self { Some(*n) } else { None }
    }

    pub(super) fn as_name(&self) -> Option<&[u8]> {
        if let Obj::Name(n) = self { Some(n) } else { None }
    }

    pub(super) fn as_str(&self) -> Option<&[u8]> {
        if let Obj::Str(s) = self { Some(s) } else { None }
    }
}

/// `dict[key]`, if present.
pub(super) fn get<'d>(dict: &'d Dict, key: &[u8]) -> Option<&'d Obj> {
    dict.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// A non-negative whole number written in the file, as an index or size.
#[allow(clippy::cast_sign_loss)] // checked: finite and not negative; `as` saturates
pub(super) fn uint(n: f64) -> Option<usize> {
    (n.is_finite() && n >= 0.0).then_some(n as usize)
}

pub(super) fn is_white(b: u8) -> bool {
    matches!(b, 0 | b'\t' | b'\n' | 0x0c | b'\r' | b' ')
}

pub(super) fn is_delim(b: u8) -> bool {
    matches!(b, b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%')
}

fn is_regular(b: u8) -> bool {
    !is_white(b) && !is_delim(b)
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// A cursor over PDF bytes.
pub(super) struct Lexer<'a> {
    pub(super) data: &'a [u8],
    pub(super) pos: usize,
}

impl<'a> Lexer<'a> {
    pub(super) fn new(data: &'a [u8], pos: usize) -> Lexer<'a> {
        Lexer { data, pos }
    }

    #[cfg(test)]
    pub(super) fn at_end(&self) -> bool {
        self.pos >= self.data.len()
    }

    fn peek(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    /// Skips white space and comments.
    pub(super) fn skip_white(&mut self) {
        while let Some(b) = self.peek() {
            if is_white(b) {
                self.pos += 1;
            } else if b == b'%' {
                while let Some(c) = self.peek() {
                    if c == b'\n' || c == b'\r' {
                        break;
                    }
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    /// The next object or keyword; `None` only at the end of the data.
    pub(super) fn next_obj(&mut self) -> Option<Obj> {
        self.obj(0)
    }

    fn obj(&mut self, depth: u32) -> Option<Obj> {
        self.skip_white();
        let b = self.peek()?;
        Some(match b {
            b'/' => {
                self.pos += 1;
                Obj::Name(self.name())
            }
            b'(' => {
                self.pos += 1;
                Obj::Str(self.literal())
            }
            b'<' if self.data.get(self.pos + 1) == Some(&b'<') => {
                self.pos += 2;
                self.dict(depth)
            }
            b'<' => {
                self.pos += 1;
                Obj::Str(self.hex())
            }
            b'[' => {
                self.pos += 1;
                self.array(depth)
            }
            b'0'..=b'9' | b'+' | b'-' | b'.' => self.number_or_ref(),
            _ if is_regular(b) => {
                let start = self.pos;
                while self.peek().is_some_and(is_regular) {
                    self.pos += 1;
                }
                match &self.data[start..self.pos] {
                    b"true" => Obj::Bool(true),
                    b"false" => Obj::Bool(false),
                    b"null" => Obj::Null,
                    k => Obj::Keyword(k.to_vec()),
                }
            }
            _ => {
                // A stray delimiter (`)`, `>`, `]`, `{`, `}`): one byte, as a keyword.
                self.pos += 1;
                Obj::Keyword(vec![b])
            }
        })
    }

    fn name(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(b) = self.peek().filter(|b| is_regular(*b)) {
            self.pos += 1;
            if b == b'#'
                && let (Some(h), Some(l)) = (
                    self.data.get(self.pos).and_then(|c| hex_val(*c)),
                    self.data.get(self.pos + 1).and_then(|c| hex_val(*c)),
                )
            {
                out.push(h << 4 | l);
                self.pos += 2;
            } else {
                out.push(b);
            }
        }
        out
    }

    fn literal(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut nest = 0u32;
        while let Some(b) = self.peek() {
            self.pos += 1;
            match b {
                b'(' => {
                    nest += 1;
                    out.push(b);
                }
                b')' if nest == 0 => break,
                b')' => {
                    nest -= 1;
                    out.push(b);
                }
                b'\\' => {
                    let Some(e) = self.peek() else { break };
                    self.pos += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'\r' => {
                            if self.peek() == Some(b'\n') {
                                self.pos += 1;
                            }
                        }
                        b'\n' => {}
                        b'0'..=b'7' => {
                            let mut v = u32::from(e - b'0');
                            for _ in 0..2 {
                                match self.peek() {
                                    Some(d @ b'0'..=b'7') => {
                                        v = v * 8 + u32::from(d - b'0');
                                        self.pos += 1;
                                    }
                                    _ => break,
                                }
                            }
                            out.push((v & 0xff) as u8);
                        }
                        other => out.push(other),
                    }
                }
                _ => out.push(b),
            }
        }
        out
    }

    fn hex(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut hi: Option<u8> = None;
        while let Some(b) = self.peek() {
            self.pos += 1;
            if b == b'>' {
                break;
            }
            if let Some(v) = hex_val(b) {
                match hi.take() {
                    Some(h) => out.push(h << 4 | v),
                    None => hi = Some(v),
                }
            }
        }
        if let Some(h) = hi {
            out.push(h << 4);
        }
        out
    }

    fn array(&mut self, depth: u32) -> Obj {
        let mut items = Vec::new();
        loop {
            self.skip_white();
            match self.peek() {
                None => break,
                Some(b']') => {
                    self.pos += 1;
                    break;
                }
                Some(_) => {
                    if depth >= MAX_NESTING {
                        self.skip_nested();
                        break;
                    }
                    match self.obj(depth + 1) {
                        Some(o) => items.push(o),
                        None => break,
                    }
                }
            }
        }
        Obj::Array(items)
    }

    fn dict(&mut self, depth: u32) -> Obj {
        let mut items: Dict = Vec::new();
        loop {
            self.skip_white();
            match self.peek() {
                None => break,
                Some(b'>') => {
                    self.pos += 1;
                    if self.peek() == Some(b'>') {
                        self.pos += 1;
                    }
                    break;
                }
                Some(b'/') => {
                    self.pos += 1;
                    let key = self.name();
                    if depth >= MAX_NESTING {
                        self.skip_nested();
                        break;
                    }
                    self.skip_white();
                    if self.peek() == Some(b'>') {
                        // A key without a value at the end of a damaged dictionary.
                        continue;
                    }
                    match self.obj(depth + 1) {
                        Some(Obj::Keyword(k)) if k == b"endobj" || k == b"stream" => {
                            // The dictionary was never closed: give the keyword back.
                            self.pos -= k.len();
                            break;
                        }
                        Some(v) => items.push((key, v)),
                        None => break,
                    }
                }
                Some(_) => match self.obj(depth + 1) {
                    // Junk where a key should be: dropped (it has been consumed).
                    Some(Obj::Keyword(k)) if k == b"endobj" || k == b"stream" => {
                        self.pos -= k.len();
                        break;
                    }
                    Some(_) => {}
                    None => break,
                },
            }
        }
        Obj::Dict(items)
    }

    /// Skips to the end of the array or dictionary the cursor is in, without recursion
    /// (strings are skipped whole so brackets inside them do not count).
    fn skip_nested(&mut self) {
        let mut level = 1usize;
        while let Some(b) = self.peek() {
            match b {
                b'(' => {
                    self.pos += 1;
                    self.literal();
                    continue;
                }
                b'[' => level += 1,
                b'<' if self.data.get(self.pos + 1) == Some(&b'<') => {
                    level += 1;
                    self.pos += 1;
                }
                b']' => level -= 1,
                b'>' if self.data.get(self.pos + 1) == Some(&b'>') => {
                    level -= 1;
                    self.pos += 1;
                }
                _ => {}
            }
            self.pos += 1;
            if level == 0 {
                break;
            }
        }
    }

    fn number_or_ref(&mut self) -> Obj {
        let start = self.pos;
        self.pos += 1;
        while self.peek().is_some_and(|b| b.is_ascii_digit() || b == b'.' || b == b'-' || b == b'+') {
            self.pos += 1;
        }
        let text = &self.data[start..self.pos];
        let value = std::str::from_utf8(text).ok().and_then(|t| t.parse::<f64>().ok()).unwrap_or(0.0);
        let integer = !text.is_empty() && text.iter().all(u8::is_ascii_digit);
        if integer && let Some(r) = self.try_ref(value) {
            return r;
        }
        Obj::Num(value)
    }

    /// After an unsigned integer: `g R` makes it a reference.
    fn try_ref(&mut self, num: f64) -> Option<Obj> {
        let save = self.pos;
        let mut look = Lexer { data: self.data, pos: self.pos };
        let white = |l: &mut Lexer<'_>| {
            let s = l.pos;
            l.skip_white();
            l.pos > s
        };
        if white(&mut look) {
            let g = look.pos;
            while look.peek().is_some_and(|b| b.is_ascii_digit()) {
                look.pos += 1;
            }
            if look.pos > g
                && look.pos - g <= 5
                && white(&mut look)
                && look.peek() == Some(b'R')
                && look.data.get(look.pos + 1).is_none_or(|b| !is_regular(*b))
                && num < f64::from(u32::MAX)
            {
                self.pos = look.pos + 1;
                return uint(num).and_then(|n| u32::try_from(n).ok()).map(Obj::Ref);
            }
        }
        self.pos = save;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &[u8]) -> Obj {
        Lexer::new(s, 0).next_obj().unwrap()
    }

    #[test]
    fn objects() {
        assert_eq!(parse(b"  % c\n 12 0 R"), Obj::Ref(12));
        assert_eq!(parse(b"12 0 obj"), Obj::Num(12.0));
        assert_eq!(parse(b"-3.5"), Obj::Num(-3.5));
        assert_eq!(parse(b"/Ty#70e"), Obj::Name(b"Type".to_vec()));
        assert_eq!(parse(b"(a\\(b\\)c (d) \\101\\\nx)"), Obj::Str(b"a(b)c (d) Ax".to_vec()));
        assert_eq!(parse(b"<41 4>"), Obj::Str(b"A@".to_vec()));
        let d = parse(b"<< /A [1 (x) /N] /B << /C true >> /D null >>");
        let d = d.as_dict().unwrap();
        assert_eq!(
            get(d, b"A"),
            Some(&Obj::Array(vec![Obj::Num(1.0), Obj::Str(b"x".to_vec()), Obj::Name(b"N".to_vec())]))
        );
        assert_eq!(get(get(d, b"B").unwrap().as_dict().unwrap(), b"C"), Some(&Obj::Bool(true)));
        assert_eq!(get(d, b"D"), Some(&Obj::Null));
    }

    #[test]
    fn damage_ends_and_deep_nesting_is_cut() {
        // Unclosed everything, stray delimiters: always ends.
        for junk in [&b"<< /A [ (x"[..], b")))>>]]}{", b"<< /Length 5 stream", b"<<<<<<", b"(((("] {
            let mut l = Lexer::new(junk, 0);
            let mut n = 0;
            while l.next_obj().is_some() {
                n += 1;
                assert!(n < 100);
            }
        }
        let deep = [vec![b'['; 100_000], vec![b']'; 100_000]].concat();
        let mut l = Lexer::new(&deep, 0);
        while l.next_obj().is_some() {}
        assert!(l.at_end());
        let d = parse(b"<< /A 1 /B 2 stream");
        assert_eq!(d.as_dict().unwrap().len(), 2);
    }
}
