//! Glob patterns of DRS rules: `*` (any run, `/` included), `?` (one character) and `[...]`
//! classes with ranges and `!`/`^` negation.

/// A compiled glob pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    tokens: Vec<Token>,
    text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(char),
    Any,
    Star,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Glob {
    /// Compiles `pattern`; an unclosed `[` or an empty class is an error.
    pub fn new(pattern: &str) -> Result<Glob, String> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut tokens = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '*' => {
                    if tokens.last() != Some(&Token::Star) {
                        tokens.push(Token::Star);
                    }
                }
                '?' => tokens.push(Token::Any),
                '[' => {
                    let mut j = i + 1;
                    let negated = matches!(chars.get(j), Some('!' | '^'));
                    if negated {
                        j += 1;
                    }
                    let mut ranges = Vec::new();
                    while j < chars.len() && (chars[j] != ']' || ranges.is_empty()) {
                        let low = chars[j];
                        if chars.get(j + 1) == Some(&'-')
                            && chars.get(j + 2).is_some_and(|c| *c != ']')
                        {
                            let high = chars[j + 2];
                            if high < low {
                                return Err(format!(
                                    "`{pattern}` has a reversed range `{low}-{high}`"
                                ));
                            }
                            ranges.push((low, high));
                            j += 3;
                        } else {
                            ranges.push((low, low));
                            j += 1;
                        }
                    }
                    if j >= chars.len() {
                        return Err(format!("`{pattern}` has a `[` that is never closed"));
                    }
                    tokens.push(Token::Class { negated, ranges });
                    i = j;
                }
                c => tokens.push(Token::Literal(c)),
            }
            i += 1;
        }
        Ok(Glob {
            tokens,
            text: pattern.to_string(),
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `name` matches the whole pattern.
    pub fn matches(&self, name: &str) -> bool {
        let name: Vec<char> = name.chars().collect();
        // Classic two-pointer matcher with one backtrack point for the last `*`: linear in
        // practice and never exponential.
        let (mut t, mut n) = (0usize, 0usize);
        let mut backtrack: Option<(usize, usize)> = None;
        while n < name.len() {
            match self.tokens.get(t) {
                Some(Token::Star) => {
                    backtrack = Some((t, n));
                    t += 1;
                    continue;
                }
                Some(token) if token_matches(token, name[n]) => {
                    t += 1;
                    n += 1;
                    continue;
                }
                _ => {}
            }
            match backtrack {
                Some((star, start)) => {
                    t = star + 1;
                    n = start + 1;
                    backtrack = Some((star, start + 1));
                }
                None => return false,
            }
        }
        self.tokens[t..].iter().all(|token| *token == Token::Star)
    }
}

fn token_matches(token: &Token, c: char) -> bool {
    match token {
        Token::Literal(literal) => *literal == c,
        Token::Any => true,
        Token::Star => false,
        Token::Class { negated, ranges } => {
            ranges.iter().any(|(low, high)| (*low..=*high).contains(&c)) != *negated
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, name: &str) -> bool {
        Glob::new(pattern)
            .map(|glob| glob.matches(name))
            .unwrap_or(false)
    }

    #[test]
    fn star_crosses_slashes() {
        assert!(m("team-a/vm/db-*", "team-a/vm/db-0"));
        assert!(m("team-b/gpu-ml/*", "team-b/gpu-ml/workers-3"));
        assert!(m("*", "supervisor/cp-1"));
        assert!(m("*/cp-*", "team-a/prod/cp-2"));
        assert!(!m("team-a/vm/db-*", "team-a/vm/web-0"));
    }

    #[test]
    fn question_and_classes() {
        assert!(m("esx-0[5-8]", "esx-05"));
        assert!(m("esx-0[5-8]", "esx-08"));
        assert!(!m("esx-0[5-8]", "esx-04"));
        assert!(m("esx-0[!5-8]", "esx-04"));
        assert!(m("esx-?1", "esx-01"));
        assert!(!m("esx-?1", "esx-1"));
        assert!(m("a[]]b", "a]b"));
    }

    #[test]
    fn bad_patterns_are_errors() {
        assert!(Glob::new("esx-[0-").is_err());
        assert!(Glob::new("esx-[9-1]").is_err());
    }

    #[test]
    fn many_stars_stay_fast() {
        let name = "a".repeat(200);
        assert!(!m(&format!("{}b", "*a".repeat(30)), &name));
    }
}
