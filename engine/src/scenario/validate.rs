//! The checks a scenario passes before it plays: every error names the step and says what is
//! wrong, citing the statement of the scenario's own protocol version.

use super::*;

/// Most steps a scenario may have.
pub const MAX_STEPS: usize = 10_000;

/// Clients times (steps + 1) a scenario may have, while the player keeps a world per step.
pub const MAX_CLIENT_STEPS: u64 = 1_000_000;

/// A client identifier is a UTF-8 string (3.1.1 and 5.0 §3.1.3.1): no null character, and at most
/// 65,535 bytes (its length is two bytes) with `suffix` more bytes appended.
fn client_id_ok(id: &str, suffix: usize, v: Version) -> Result<(), String> {
    if id.contains('\0') {
        return Err(format!(
            "a client id must not contain the null character {}",
            if v.is_v5() {
                "[MQTT-1.5.4-2] 5.0"
            } else {
                "[MQTT-1.5.3-2] 3.1.1"
            }
        ));
    }
    if id.len() + suffix > topic::MAX_STRING {
        return Err(format!(
            "a client id of {} bytes is longer than the 65,535 bytes a UTF-8 string can carry ({})",
            id.len() + suffix,
            if v.is_v5() {
                "5.0 §1.5.4"
            } else {
                "3.1.1 §1.5.3"
            }
        ));
    }
    Ok(())
}

impl Scenario {
    /// Semantic checks: every error names the step and says what is wrong.
    pub(super) fn validate(&self) -> Result<(), (&'static str, usize, String)> {
        let top = |m: String| ("", 0usize, m);
        if self.format != FORMAT_VERSION {
            return Err(top(format!(
                "this is format {}, but this version of the lab reads format {FORMAT_VERSION}",
                self.format
            )));
        }
        if self.id.is_empty()
            || !self
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(top(format!(
                "id \"{}\" must be non-empty and use only letters, digits and '-'",
                self.id
            )));
        }
        self.broker.resolve().map_err(top)?;
        if self.clients.is_empty() {
            return Err(top("a scenario needs at least one client".into()));
        }
        let total: u64 = self
            .clients
            .iter()
            .map(|c| u64::from(c.count.unwrap_or(1)))
            .sum();
        if total > 10_000 {
            return Err(top(format!(
                "{total} clients is more than the 10,000 a scenario may simulate"
            )));
        }
        if self.steps.len() > MAX_STEPS {
            return Err(top(format!(
                "{} steps is more than the {MAX_STEPS} a scenario may have",
                self.steps.len()
            )));
        }
        // The player keeps every client's state after every step (issue 14 item 2 replaces
        // this with checkpoints): 10,000 clients over 700 steps took 6.8 GB natively and killed
        // the page (a wasm page has at most 4 GB), so the product is bounded.
        let client_steps = total.saturating_mul(self.steps.len() as u64 + 1);
        if client_steps > MAX_CLIENT_STEPS {
            return Err(top(format!(
                "{total} clients over {} steps is {} client-steps: the player keeps every client's state after every step, and at most {} fit in memory; use fewer clients or fewer steps",
                self.steps.len(),
                crate::budget::big(client_steps),
                crate::budget::big(MAX_CLIENT_STEPS)
            )));
        }
        let mut names: Vec<&str> = Vec::new();
        for (i, c) in self.clients.iter().enumerate() {
            let v = c.version.unwrap_or(self.version);
            // A count group's ids get "-01", "-02", ... appended.
            let suffix = c
                .count
                .filter(|n| *n > 1)
                .map_or(0, |n| n.to_string().len().max(2) + 1);
            client_id_ok(c.client_id.as_deref().unwrap_or(&c.name), suffix, v)
                .map_err(|m| ("clients", i, m))?;
            if c.name.is_empty() {
                return Err(("clients", i, "a client needs a name".into()));
            }
            if names.contains(&c.name.as_str()) {
                return Err((
                    "clients",
                    i,
                    format!("two clients are named \"{}\"", c.name),
                ));
            }
            names.push(&c.name);
            if c.count == Some(0) {
                return Err(("clients", i, "count must be at least 1".into()));
            }
            if let Some(b) = &c.auto_reconnect {
                // A delay rounds to whole milliseconds: below 0.5 ms it is none, and a client
                // whose broker is down would try again at the same instant, forever.
                if !(b.initial >= 0.001 && b.max >= 0.001) {
                    // The values are not echoed: formatting an f64 would cost the page 8 KB.
                    let low = |v: f64| v.is_nan() || v < 0.001;
                    let which = match (low(b.initial), low(b.max)) {
                        (true, true) => "initial and max are",
                        (true, false) => "initial is",
                        _ => "max is",
                    };
                    return Err(("clients", i, format!(
                        "auto_reconnect: {which} below 0.001 s (1 ms): a client reconnecting with no delay would try again and again in zero simulated time and never stop"
                    )));
                }
                let ok = |v: f64| (0.0..=86_400.0).contains(&v);
                if !ok(b.initial)
                    || !ok(b.max)
                    || !b.multiplier.is_finite()
                    || b.multiplier < 1.0
                    || b.multiplier > 100.0
                {
                    return Err(("clients", i, "auto_reconnect: initial and max are 0.001..86400 seconds and multiplier is 1..100".into()));
                }
            }
        }
        // A connect's `version` stays the client's version for its later connects (as the engine
        // plays it), so 5.0-only fields are checked against the version in force at each step.
        let mut versions = std::collections::BTreeMap::new();
        let mut moments: Vec<&str> = Vec::new();
        for (i, step) in self.steps.iter().enumerate() {
            self.validate_step(step, &versions)
                .map_err(|m| ("steps", i, m))?;
            if let Action::Connect(c) = &step.action {
                if let Some(v) = c.version {
                    versions.insert(c.client.clone(), v);
                }
            }
            self.validate_claims(step, &versions)
                .map_err(|m| ("steps", i, m))?;
            if let Some(name) = &step.moment {
                if name.is_empty()
                    || !name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                {
                    return Err((
                        "steps",
                        i,
                        format!(
                            "moment \"{name}\" must be non-empty and use only a-z, 0-9 and '-'"
                        ),
                    ));
                }
                if moments.contains(&name.as_str()) {
                    return Err((
                        "steps",
                        i,
                        format!("moment \"{name}\" names an earlier step already; a moment names one step"),
                    ));
                }
                moments.push(name);
            }
        }
        Ok(())
    }

    /// The claims of a step: each names one client of the scenario, holds values that can
    /// happen on the client's protocol version at this step, and names known profiles.
    fn validate_claims(
        &self,
        step: &Step,
        versions: &std::collections::BTreeMap<String, Version>,
    ) -> Result<(), String> {
        let expanded = self.expanded_clients();
        for (n, c) in step.claims.iter().enumerate() {
            let at = |m: String| format!("claims[{n}]: {m}");
            let name = c.claim.client();
            let Some((_, spec)) = expanded.iter().find(|(e, _)| e == name) else {
                let names: Vec<&str> = expanded.iter().map(|(e, _)| e.as_str()).collect();
                let group = self.clients.iter().any(|g| g.name == name);
                return Err(at(if group {
                    format!(
                        "\"{name}\" is a group of clients; a claim names one of them: {}",
                        names.join(", ")
                    )
                } else {
                    format!(
                        "unknown client \"{name}\"; the clients are: {}",
                        names.join(", ")
                    )
                }));
            };
            let v = versions
                .get(name)
                .or_else(|| versions.get(&spec.name))
                .copied()
                .unwrap_or(spec.version.unwrap_or(self.version));
            c.claim.validate(v).map_err(at)?;
            if let Some(ps) = &c.profiles {
                if ps.is_empty() {
                    return Err(at(
                        "\"profiles\" names at least one profile (leave it out for every profile)"
                            .into(),
                    ));
                }
                for p in ps {
                    if BrokerProfile::by_id(p).is_none() {
                        let known: Vec<String> =
                            BrokerProfile::all().into_iter().map(|p| p.id).collect();
                        return Err(at(format!(
                            "unknown broker profile \"{p}\"; known profiles: {}",
                            known.join(", ")
                        )));
                    }
                }
            }
            if c.say.as_deref() == Some("") {
                return Err(at("\"say\" is empty: leave it out, or write the sentence shown where the claim holds".into()));
            }
        }
        Ok(())
    }

    fn validate_step(
        &self,
        step: &Step,
        versions: &std::collections::BTreeMap<String, Version>,
    ) -> Result<(), String> {
        let known = |name: &str| -> Result<Version, String> {
            let declared = self.client_version(name);
            declared
                .map(|v| versions.get(name).copied().unwrap_or(v))
                .ok_or_else(|| {
                    let names: Vec<&str> = self.clients.iter().map(|c| c.name.as_str()).collect();
                    format!(
                        "unknown client \"{name}\"; the clients are: {}",
                        names.join(", ")
                    )
                })
        };
        let v5_only = |v: Version, what: &str, client: &str| -> Result<(), String> {
            if v.is_v5() {
                Ok(())
            } else {
                Err(format!(
                    "{what} exists only in MQTT 5.0, and client \"{client}\" speaks 3.1.1 here"
                ))
            }
        };
        match &step.action {
            Action::Connect(c) => {
                let v = c.version.unwrap_or(known(&c.client)?);
                if let Some(id) = &c.client_id {
                    client_id_ok(id, 0, v)?;
                }
                if c.session_expiry.is_some() {
                    v5_only(v, "session_expiry", &c.client)?;
                }
                if c.receive_maximum.is_some() {
                    v5_only(v, "receive_maximum", &c.client)?;
                }
                if c.receive_maximum == Some(0) {
                    return Err(
                        "receive_maximum 0 is a protocol error (§3.1.2.11.3); use 1 to 65535"
                            .into(),
                    );
                }
                if let Some(w) = &c.will {
                    topic::validate_topic_name(&w.topic, v.is_v5())
                        .map_err(|e| format!("will topic: {e}"))?;
                    if w.delay.is_some() {
                        v5_only(v, "will.delay", &c.client)?;
                    }
                    if w.message_expiry.is_some() {
                        v5_only(v, "will.message_expiry", &c.client)?;
                    }
                }
            }
            Action::Subscribe(s) => {
                let v = known(&s.client)?;
                let parsed = topic::parse_filter(&s.filter, v.is_v5())?;
                if s.no_local
                    || s.retain_as_published
                    || s.retain_handling != 0
                    || s.subscription_id.is_some()
                {
                    v5_only(
                        v,
                        "no_local / retain_as_published / retain_handling / subscription_id",
                        &s.client,
                    )?;
                }
                if s.retain_handling > 2 {
                    return Err(format!(
                        "retain_handling is 0, 1 or 2, not {}",
                        s.retain_handling
                    ));
                }
                if s.no_local && parsed.share.is_some() {
                    return Err(
                        "No Local on a shared subscription is a protocol error [MQTT-3.8.3-4] 5.0"
                            .into(),
                    );
                }
                if let Some(id) = s.subscription_id {
                    if id == 0 || id > 268_435_455 {
                        return Err(format!(
                            "subscription_id must be 1 to 268,435,455, not {id} (§3.8.2.1.2)"
                        ));
                    }
                }
            }
            Action::Unsubscribe(u) => {
                let v = known(&u.client)?;
                topic::validate_filter(&u.filter, v.is_v5())?;
            }
            Action::Publish(p) => {
                let v = known(&p.client)?;
                topic::validate_topic_name(&p.topic, v.is_v5())?;
                if p.message_expiry.is_some() {
                    v5_only(v, "message_expiry", &p.client)?;
                }
                if p.count == 0 || p.count > 100_000 {
                    return Err(format!("count must be 1 to 100,000, not {}", p.count));
                }
            }
            Action::Disconnect(d) => {
                let v = known(&d.client)?;
                if d.reason != 0 {
                    v5_only(v, "a DISCONNECT reason code", &d.client)?;
                }
                if d.session_expiry.is_some() {
                    v5_only(v, "session_expiry in DISCONNECT", &d.client)?;
                }
            }
            Action::Drop(c) | Action::Cut(c) => {
                known(&c.client)?;
            }
            Action::LoseNext(l) => {
                known(&l.client)?;
                if l.count == 0 || l.count > 1000 {
                    return Err("lose_next.count must be 1 to 1000".into());
                }
                if let Some(k) = &l.packet {
                    if !crate::packet::PACKET_TYPES.contains(&k.as_str()) {
                        return Err(format!(
                            "lose_next.packet \"{k}\" is not a packet type; use one of {}",
                            crate::packet::PACKET_TYPES.join(", ")
                        ));
                    }
                }
            }
            Action::WithholdAcks(w) => {
                known(&w.client)?;
            }
            Action::ReleaseAcks(c) => {
                known(&c.client)?;
            }
            Action::Send(x) => {
                let v = known(&x.client)?;
                match (&x.packet, &x.hex) {
                    (Some(_), Some(_)) | (None, None) => {
                        return Err("send needs exactly one of \"packet\" (a model packet) and \"hex\" (bytes)".into());
                    }
                    (Some(p), None) => {
                        if let Err(e) = crate::codec::encode(p, v) {
                            return Err(format!(
                                "send.packet cannot be written on a {v} connection: {e} (give bytes that break a rule as \"hex\")"
                            ));
                        }
                    }
                    (None, Some(h)) => match crate::codec::frame_len(&h.0) {
                        Ok(n) if n < h.0.len() => {
                            return Err(format!(
                                "send.hex holds {} bytes after the packet's {n}: give each packet its own send step",
                                h.0.len() - n
                            ));
                        }
                        Err(crate::codec::DecodeError::Incomplete) => {
                            return Err(if h.0.is_empty() {
                                "send.hex holds no bytes".to_string()
                            } else {
                                format!("send.hex ends before the packet its fixed header announces ({} bytes given): the broker would wait for the rest", h.0.len())
                            });
                        }
                        // A Remaining Length over four bytes: the broker refuses the packet there.
                        Ok(_) | Err(_) => {}
                    },
                }
            }
            Action::Wait(_)
            | Action::StopBroker(_)
            | Action::StartBroker(_)
            | Action::RestartBroker(_)
            | Action::Say => {}
        }
        Ok(())
    }
}
