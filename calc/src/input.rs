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
        let t = text.trim().replace(['_', ','], "");
        let range = self.range_text();
        if t.is_empty() {
            return Err(format!("{}: enter {range}.", self.label));
        }
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
        assert_eq!(DEVICES.parse(" 1,000 "), Ok(1000.0));
        assert_eq!(DEVICES.parse("1e6"), Ok(1e6));
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
