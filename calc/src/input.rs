//! Input fields with their allowed ranges. The page reads text; these functions turn it into a
//! number or a sentence that says what is allowed, so -5, 1e30, NaN or an empty field never
//! reach a formula.

/// One numeric input of a calculator.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Field {
    /// Key in the link (`?devices=1000`).
    pub key: &'static str,
    pub label: &'static str,
    /// Unit shown after the field ("s", "B", "msg/min"); empty for counts.
    pub unit: &'static str,
    pub min: f64,
    pub max: f64,
    pub integer: bool,
    pub default: f64,
}

impl Field {
    /// The value of `text`, or a message naming the field and its allowed range.
    pub fn parse(&self, text: &str) -> Result<f64, String> {
        let range = self.range_text();
        if text.trim().is_empty() {
            return Err(format!("{}: enter {range}.", self.label));
        }
        let t = separators(text.trim())
            .map_err(|why| format!("{}: \"{}\" {why}; enter {range}.", self.label, text.trim()))?;
        let v: f64 = t.parse().map_err(|_| {
            format!(
                "{}: \"{}\" is not a number; enter {range}.",
                self.label,
                text.trim()
            )
        })?;
        let shown = text.trim();
        if !v.is_finite() {
            return Err(format!(
                "{}: \"{shown}\" is not a number; enter {range}.",
                self.label
            ));
        }
        if v < self.min || v > self.max {
            return Err(format!(
                "{}: \"{shown}\" is out of range; enter {range}.",
                self.label
            ));
        }
        if self.integer && v.fract() != 0.0 {
            return Err(format!(
                "{}: \"{shown}\" is not a whole number; enter {range}.",
                self.label
            ));
        }
        Ok(v)
    }

    /// "a whole number from 1 to 1,000,000" / "a number from 0 to 100 %".
    pub fn range_text(&self) -> String {
        let unit = if self.unit.is_empty() {
            String::new()
        } else {
            format!(" {}", self.unit)
        };
        format!(
            "{} from {} to {}{unit}",
            if self.integer {
                "a whole number"
            } else {
                "a number"
            },
            crate::units::num(self.min, 6),
            crate::units::num(self.max, 6)
        )
    }

    /// The default as the page writes it in the field.
    pub fn default_text(&self) -> String {
        format_plain(self.default)
    }
}

/// `text` with its separators read: `_` and thousands commas (groups of three digits, as the
/// page writes numbers: "1,000,000", "2,500.5") are dropped; a lone decimal comma ("1,5",
/// "0,25") is read as a decimal point. A single comma followed by exactly three digits ("1,500")
/// could be either, so it is refused with a phrase that says so, as is a comma after a point
/// ("1.000,5").
fn separators(text: &str) -> Result<String, &'static str> {
    let t = text.replace('_', "");
    let commas = t.matches(',').count();
    if commas == 0 {
        return Ok(t);
    }
    let (int, frac) = match t.find('.') {
        Some(dot) => (&t[..dot], Some(&t[dot..])),
        None => (&t[..], None),
    };
    if frac.is_some_and(|f| f.contains(',')) {
        return Err("has a comma after the decimal point; write a point for decimals and no thousands separators");
    }
    let groups: Vec<&str> = int.split(',').collect();
    let digits = |g: &str| !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit());
    fn sign(g: &str) -> &str {
        g.strip_prefix(['-', '+']).unwrap_or(g)
    }
    let grouped = digits(sign(groups[0]))
        && sign(groups[0]).len() <= 3
        && groups[1..].iter().all(|g| g.len() == 3 && digits(g));
    if grouped && (commas > 1 || frac.is_some()) {
        return Ok(format!("{}{}", groups.concat(), frac.unwrap_or("")));
    }
    if commas == 1 && frac.is_none() && digits(sign(groups[0])) && digits(groups[1]) {
        if groups[1].len() == 3 {
            return Err("could mean a thousands separator or a decimal comma; write it without the comma, or with a decimal point");
        }
        return Ok(format!("{}.{}", groups[0], groups[1]));
    }
    Err("has commas where a number cannot; write a point for decimals and no thousands separators")
}

/// A number as a field holds it: no separators, no exponent, no trailing zeros.
pub fn format_plain(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        let s = format!("{v:.6}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// Reads every field of `fields` from `get(key)` (missing keys take the default). Returns the
/// values in field order, or every message at once.
pub fn read_all(
    fields: &[Field],
    get: impl Fn(&str) -> Option<String>,
) -> Result<Vec<f64>, Vec<String>> {
    let mut out = Vec::with_capacity(fields.len());
    let mut errors = Vec::new();
    for f in fields {
        match get(f.key) {
            None => out.push(f.default),
            Some(t) => match f.parse(&t) {
                Ok(v) => out.push(v),
                Err(e) => errors.push(e),
            },
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEVICES: Field = Field {
        key: "devices",
        label: "Devices",
        unit: "",
        min: 1.0,
        max: 1_000_000.0,
        integer: true,
        default: 1000.0,
    };

    #[test]
    fn absurd_values_get_a_sentence_with_the_range() {
        for bad in ["-5", "1e30", "NaN", "inf", "", "  ", "ten", "2.5", "0"] {
            let e = DEVICES.parse(bad).unwrap_err();
            assert!(e.starts_with("Devices: "), "{e}");
            assert!(e.contains("a whole number from 1 to 1,000,000"), "{e}");
        }
        assert_eq!(DEVICES.parse("1e6"), Ok(1e6));
    }

    #[test]
    fn a_decimal_comma_is_a_decimal_point_and_never_a_thousands_separator() {
        let rate = Field {
            key: "rate",
            label: "Rate",
            unit: "",
            min: -1e7,
            max: 1e7,
            integer: false,
            default: 1.0,
        };
        for (text, v) in [
            ("1,5", 1.5),
            ("0,25", 0.25),
            ("-2,5", -2.5),
            ("12,5000", 12.5),
            ("1,000,000", 1e6),
            ("2,500.5", 2500.5),
            ("1_000", 1000.0),
            ("1.5", 1.5),
        ] {
            assert_eq!(rate.parse(text), Ok(v), "{text}");
        }
        for text in [
            "1,500",
            "1,000",
            "1.000,5",
            "1,,5",
            ",5",
            "1,",
            "1,5,0",
            "10,00,000",
            "1,5e3",
        ] {
            let e = rate.parse(text).unwrap_err();
            assert!(e.starts_with(&format!("Rate: \"{text}\" ")), "{e}");
            assert!(e.contains("enter a number from"), "{e}");
        }
        assert!(rate.parse("1,500").unwrap_err().contains("could mean"));
    }

    #[test]
    fn read_all_takes_defaults_and_collects_errors() {
        let f = [
            DEVICES,
            Field {
                key: "rate",
                label: "Rate",
                unit: "msg/min",
                min: 0.0,
                max: 1e4,
                integer: false,
                default: 1.0,
            },
        ];
        assert_eq!(read_all(&f, |_| None), Ok(vec![1000.0, 1.0]));
        let e = read_all(&f, |k| {
            Some(if k == "rate" { "-1".into() } else { "x".into() })
        })
        .unwrap_err();
        assert_eq!(e.len(), 2);
        assert!(e[1].contains("a number from 0 to 10,000 msg/min"), "{e:?}");
        assert_eq!(format_plain(0.5), "0.5");
        assert_eq!(format_plain(1000.0), "1000");
    }
}
