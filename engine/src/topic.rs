//! Topic names, topic filters and matching (MQTT §4.7).

/// What is wrong with a topic name or filter (§4.7, §4.8.2), with the statement it breaks in
/// each protocol version (the ids differ between 3.1.1 and 5.0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TopicError {
    /// Zero length ([MQTT-4.7.3-1]).
    Empty,
    /// A wildcard in a topic name ([MQTT-3.3.2-2]).
    Wildcard,
    /// The null character ([MQTT-4.7.3-2]).
    Null,
    /// More than 65,535 bytes of UTF-8 ([MQTT-4.7.3-3]).
    TooLong,
    /// '#' not alone in the last level ([MQTT-4.7.1-2] 3.1.1, [MQTT-4.7.1-1] 5.0).
    HashPlacement,
    /// '+' not a whole level ([MQTT-4.7.1-3] 3.1.1, [MQTT-4.7.1-2] 5.0).
    PlusPlacement,
    /// A shared subscription's share name is empty ([MQTT-4.8.2-1] 5.0).
    ShareName,
    /// A shared subscription's share name holds '+' or '#' ([MQTT-4.8.2-2] 5.0).
    ShareNameWildcard,
    /// `$share/` not followed by a name, '/' and a filter ([MQTT-4.8.2-2], 5.0).
    ShareForm,
}

impl TopicError {
    /// The statement id in the version given (`v5`).
    pub fn statement(self, v5: bool) -> &'static str {
        match (self, v5) {
            (TopicError::Empty, _) => "[MQTT-4.7.3-1]",
            (TopicError::Wildcard, _) => "[MQTT-3.3.2-2]",
            (TopicError::Null, _) => "[MQTT-4.7.3-2]",
            (TopicError::TooLong, _) => "[MQTT-4.7.3-3]",
            (TopicError::HashPlacement, false) => "[MQTT-4.7.1-2]",
            (TopicError::HashPlacement, true) => "[MQTT-4.7.1-1]",
            (TopicError::PlusPlacement, false) => "[MQTT-4.7.1-3]",
            (TopicError::PlusPlacement, true) => "[MQTT-4.7.1-2]",
            (TopicError::ShareName, _) => "[MQTT-4.8.2-1]",
            (TopicError::ShareNameWildcard, _) => "[MQTT-4.8.2-2]",
            (TopicError::ShareForm, _) => "[MQTT-4.8.2-2]",
        }
    }

    /// The rule in words.
    pub fn rule(self) -> &'static str {
        match self {
            TopicError::Empty => "must be at least one character long",
            TopicError::Wildcard => "contains a wildcard; wildcards are only for subscriptions",
            TopicError::Null => "must not contain the null character",
            TopicError::TooLong => "must not be longer than 65,535 bytes of UTF-8",
            TopicError::HashPlacement => "'#' must be a whole level and the last one",
            TopicError::PlusPlacement => "'+' must be a whole level, as in a/+/b",
            TopicError::ShareName => "the share name must be at least one character long",
            TopicError::ShareNameWildcard => "the share name must not contain '+' or '#'",
            TopicError::ShareForm => "a shared subscription is $share/<name>/<filter>",
        }
    }
}

/// Whether `topic` is a valid topic name (§4.7).
pub fn check_topic_name(topic: &str) -> Result<(), TopicError> {
    if topic.is_empty() {
        return Err(TopicError::Empty);
    }
    if topic.contains(['+', '#']) {
        return Err(TopicError::Wildcard);
    }
    if topic.contains('\0') {
        return Err(TopicError::Null);
    }
    Ok(())
}

/// The longest UTF-8 string MQTT can carry: its length is a two-byte integer (3.1.1 §1.5.3,
/// 5.0 §1.5.4).
pub const MAX_STRING: usize = 65_535;

/// The rule on the whole filter string, share prefix included: no null character anywhere,
/// the share name too ([MQTT-4.7.3-2]). (The length, [MQTT-4.7.3-3], is checked where a scenario
/// is validated; the encoder reports it as a string too long to write.)
fn whole_filter(filter: &str) -> Result<(), TopicError> {
    if filter.contains('\0') {
        return Err(TopicError::Null);
    }
    Ok(())
}

/// What is wrong with a shared subscription's share name, if anything (5.0 §4.8.2).
fn share_name_error(name: &str) -> Option<TopicError> {
    if name.is_empty() {
        Some(TopicError::ShareName)
    } else if name.contains(['+', '#']) {
        Some(TopicError::ShareNameWildcard)
    } else {
        None
    }
}

/// Whether `filter` is a valid topic filter in the version given: 5.0 adds shared
/// subscriptions (§4.8.2); in 3.1.1 `$share/...` is an ordinary filter.
pub fn check_filter(filter: &str, v5: bool) -> Result<(), TopicError> {
    whole_filter(filter)?;
    if v5 {
        if let Some(rest) = filter.strip_prefix("$share/") {
            let (name, inner) = rest.split_once('/').ok_or(TopicError::ShareForm)?;
            if let Some(e) = share_name_error(name) {
                return Err(e);
            }
            return check_levels(inner);
        }
    }
    check_levels(filter)
}

/// The level rules of a topic filter (§4.7.1, §4.7.3).
fn check_levels(filter: &str) -> Result<(), TopicError> {
    if filter.is_empty() {
        return Err(TopicError::Empty);
    }
    if filter.contains('\0') {
        return Err(TopicError::Null);
    }
    let levels: Vec<&str> = filter.split('/').collect();
    for (i, level) in levels.iter().enumerate() {
        if level.contains('#') && (*level != "#" || i != levels.len() - 1) {
            return Err(TopicError::HashPlacement);
        }
        if level.contains('+') && *level != "+" {
            return Err(TopicError::PlusPlacement);
        }
    }
    Ok(())
}

/// Why a topic name is not valid, in words with the statement id (as scenario files are
/// checked).
/// A topic name's error as a sentence citing the statement of version 5.0 (`v5`) or 3.1.1.
pub fn validate_topic_name(topic: &str, v5: bool) -> Result<(), String> {
    let long = (topic.len() > MAX_STRING).then_some(TopicError::TooLong);
    long.map_or_else(|| check_topic_name(topic), Err)
        .map_err(|e| match e {
            TopicError::Wildcard => format!(
                "the topic name \"{topic}\" {} {}",
                e.rule(),
                e.statement(v5)
            ),
            _ => format!("a topic name {} {}", e.rule(), e.statement(v5)),
        })
}

/// A parsed subscription filter: plain or shared (`$share/{ShareName}/{filter}`, 5.0 §4.8.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedFilter<'a> {
    /// The share name of a shared subscription; `None` for an ordinary filter.
    pub share: Option<&'a str>,
    /// The topic filter that is matched against topic names (the share prefix removed).
    pub filter: &'a str,
}

/// Parses a filter; an error is a sentence citing the statement of version 5.0 (`v5`) or 3.1.1.
/// Shared subscriptions exist only in 5.0: on 3.1.1, `$share/g/t` is an ordinary filter.
pub fn parse_filter(filter: &str, v5: bool) -> Result<ParsedFilter<'_>, String> {
    if !filter.is_empty() {
        let long = (filter.len() > MAX_STRING).then_some(TopicError::TooLong);
        long.map_or_else(|| whole_filter(filter), Err)
            .map_err(|e| format!("a topic filter {} {}", e.rule(), e.statement(v5)))?;
    }
    if let Some(rest) = filter.strip_prefix("$share/").filter(|_| v5) {
        // [MQTT-4.8.2-1] ShareName at least one character; [MQTT-4.8.2-2] no '/', '+' or '#',
        // followed by '/' and a Topic Filter.
        let (name, inner) = rest.split_once('/').ok_or_else(|| {
            format!("\"{filter}\": a shared subscription is $share/<name>/<filter> [MQTT-4.8.2-2]")
        })?;
        if let Some(e) = share_name_error(name) {
            return Err(format!("\"{filter}\": {} {}", e.rule(), e.statement(true)));
        }
        validate_filter_body(inner, v5)?;
        return Ok(ParsedFilter {
            share: Some(name),
            filter: inner,
        });
    }
    validate_filter_body(filter, v5)?;
    Ok(ParsedFilter {
        share: None,
        filter,
    })
}

/// Checks a topic filter (plain or shared); an error is a sentence citing the statement of version
/// 5.0 (`v5`) or 3.1.1.
pub fn validate_filter(filter: &str, v5: bool) -> Result<(), String> {
    parse_filter(filter, v5).map(|_| ())
}

fn validate_filter_body(filter: &str, v5: bool) -> Result<(), String> {
    check_levels(filter).map_err(|e| match e {
        TopicError::Empty | TopicError::Null | TopicError::TooLong => {
            format!("a topic filter {} {}", e.rule(), e.statement(v5))
        }
        _ => format!("\"{filter}\": {} {}", e.rule(), e.statement(v5)),
    })
}

/// Does a topic name match a (non-shared, valid) topic filter?
pub fn matches(filter: &str, topic: &str) -> bool {
    // [MQTT-4.7.2-1] Filters starting with a wildcard do not match topics starting with '$'.
    if topic.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let mut f = filter.as_bytes().split(|b| *b == b'/');
    let mut t = topic.as_bytes().split(|b| *b == b'/');
    loop {
        match (f.next(), t.next()) {
            (Some(b"#"), _) => return true,
            (Some(b"+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// Sort key that orders the filters matching `topic` the way mosquitto's subscription tree walk
/// meets them (mosquitto 2.0 subs.c `sub__search`: at each level the literal child's subtree,
/// then the `+` child's, each before that child's own subscriptions, then the `#` child). For
/// topic `a/b`: `a/b/#`, `a/b`, `a/+/#`, `a/+`, `a/#`, `+/b/#`, ..., `#`. Observed on mosquitto
/// 2.0.11 (tests/conformance/32-34). `filter` must match `topic`.
pub fn tree_walk_key(filter: &str, topic: &str) -> Vec<u8> {
    let depth = topic.split('/').count();
    let levels: Vec<&str> = filter.split('/').collect();
    let mut key = Vec::with_capacity(levels.len() + 1);
    for (i, l) in levels.iter().enumerate() {
        if i == depth {
            // A `#` one level below the topic: met before the topic's own node.
            key.push(0);
            return key;
        }
        match *l {
            "#" => {
                key.push(2);
                return key;
            }
            "+" => key.push(1),
            _ => key.push(0),
        }
    }
    // The filter ends at the topic's node: after that node's `#` child.
    key.push(1);
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn filters_sort_in_mosquittos_tree_walk_order() {
        let mut f = vec!["#", "a/#", "+/b", "a/+", "a/b", "a/b/#", "+/+/#", "a/+/#"];
        f.sort_by_key(|x| tree_walk_key(x, "a/b"));
        assert_eq!(
            f,
            vec!["a/b/#", "a/b", "a/+/#", "a/+", "a/#", "+/b", "+/+/#", "#"]
        );
    }

    #[test]
    fn wildcards_match_per_spec_examples() {
        // §4.7.1.2 examples.
        assert!(matches("sport/tennis/player1/#", "sport/tennis/player1"));
        assert!(matches(
            "sport/tennis/player1/#",
            "sport/tennis/player1/ranking"
        ));
        assert!(matches("sport/#", "sport"));
        assert!(matches("#", "a/b/c"));
        // §4.7.1.3 examples.
        assert!(matches("sport/tennis/+", "sport/tennis/player1"));
        assert!(!matches("sport/tennis/+", "sport/tennis/player1/ranking"));
        assert!(!matches("sport/+", "sport"));
        assert!(matches("sport/+", "sport/"));
        assert!(matches("+/+", "/finance"));
        assert!(matches("/+", "/finance"));
        assert!(!matches("+", "/finance"));
    }

    #[test]
    fn dollar_topics_are_not_matched_by_leading_wildcards() {
        assert!(!matches("#", "$SYS/broker/load"));
        assert!(!matches("+/monitor/Clients", "$SYS/monitor/Clients"));
        assert!(matches("$SYS/#", "$SYS/broker/load"));
    }

    #[test]
    fn invalid_filters_are_rejected_with_the_rule() {
        assert!(validate_filter("sport/tennis#", true).is_err());
        assert!(validate_filter("sport/tennis/#/ranking", true).is_err());
        assert!(validate_filter("sport+", true).is_err());
        assert!(validate_filter("", true).is_err());
        assert!(validate_filter("$share//a", true).is_err());
        assert!(validate_filter("$share/g", true).is_err());
        assert!(validate_filter("+/tennis/#", true).is_ok());
        let p = parse_filter("$share/g1/a/+", true).unwrap();
        assert_eq!(p.share, Some("g1"));
        assert_eq!(p.filter, "a/+");
        // 3.1.1 has no shared subscriptions: the same text is an ordinary filter there, matched
        // literally, and a filter 5.0 refuses as a malformed share is a valid one.
        let p = parse_filter("$share/g1/a/+", false).unwrap();
        assert_eq!(p.share, None);
        assert_eq!(p.filter, "$share/g1/a/+");
        assert!(validate_filter("$share//a", false).is_ok());
        assert!(validate_filter("$share/g", false).is_ok());
    }

    #[test]
    fn topic_names_reject_wildcards() {
        assert!(validate_topic_name("a/+", false).is_err());
        assert!(validate_topic_name("", false).is_err());
        assert!(validate_topic_name("a/b", false).is_ok());
    }
}
