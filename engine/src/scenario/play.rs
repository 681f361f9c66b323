//! Playing a scenario: the interpreter that turns each step into calls on the [`World`]'s API.

use super::*;

impl Scenario {
    /// A fresh world for this scenario with its clients, before any step.
    pub fn build_world(&self) -> Result<World, String> {
        let profile = self.broker.resolve()?;
        let mut w = World::new(profile, self.seed);
        for (name, spec) in self.expanded_clients() {
            let id = match (&spec.client_id, spec.count) {
                (Some(id), Some(n)) if n > 1 => format!("{id}{}", &name[spec.name.len()..]),
                (Some(id), _) => id.clone(),
                (None, _) => name.clone(),
            };
            let mut c = SimClient::new(
                name,
                ClientId::new(id),
                spec.version.unwrap_or(self.version),
            );
            c.buffer_capacity = spec.buffer.map(|b| b as usize);
            c.auto_reconnect = spec.auto_reconnect.clone();
            c.strict_session_present = spec.strict_session_present;
            w.add_client(c);
        }
        Ok(w)
    }

    /// Indices of the clients a step's `client` names (one client, or a whole `count` group).
    pub fn targets(&self, world: &World, name: &str) -> Vec<usize> {
        if let Some(i) = world.client_index(name) {
            return vec![i];
        }
        let prefix = format!("{name}-");
        world
            .clients
            .iter()
            .enumerate()
            .filter(|(_, c)| c.name.starts_with(&prefix))
            .map(|(i, _)| i)
            .collect()
    }

    /// Performs one step on the world.
    pub fn apply(&self, world: &mut World, step: &Step) {
        match &step.action {
            Action::Connect(c) => {
                for idx in self.targets(world, &c.client) {
                    let version = c.version.unwrap_or(world.client_version(idx));
                    if let Some(id) = &c.client_id {
                        world.set_client_id(idx, ClientId::new(id));
                    }
                    let opts = ConnectOptions {
                        version,
                        clean_start: c.clean_start,
                        keep_alive: c.keep_alive.unwrap_or(60),
                        session_expiry: c.session_expiry.map(|e| e.0),
                        receive_maximum: c.receive_maximum,
                        will: c.will.as_ref().map(|w| Will {
                            topic: w.topic.as_str().into(),
                            payload: w.payload.as_str().into(),
                            qos: w.qos,
                            retain: w.retain,
                            delay: w.delay.unwrap_or(0),
                            message_expiry: w.message_expiry,
                        }),
                    };
                    world.connect(idx, opts);
                }
            }
            Action::Subscribe(s) => {
                for idx in self.targets(world, &s.client) {
                    let opts = SubOptions {
                        qos: s.qos,
                        no_local: s.no_local,
                        retain_as_published: s.retain_as_published,
                        retain_handling: s.retain_handling,
                    };
                    world.subscribe(idx, vec![(s.filter.clone(), opts)], s.subscription_id);
                }
            }
            Action::Unsubscribe(u) => {
                for idx in self.targets(world, &u.client) {
                    world.unsubscribe(idx, vec![u.filter.clone()]);
                }
            }
            Action::Publish(p) => {
                for idx in self.targets(world, &p.client) {
                    for n in 1..=p.count {
                        if world.meter.is_over() {
                            // Past a limit of the run ([`crate::budget`]): the player reports it.
                            return;
                        }
                        let payload = p.payload.replace("{n}", &n.to_string());
                        world.publish(
                            idx,
                            p.topic.clone(),
                            payload,
                            p.qos,
                            p.retain,
                            p.message_expiry,
                        );
                    }
                }
            }
            Action::Disconnect(d) => {
                for idx in self.targets(world, &d.client) {
                    world.disconnect(idx, d.reason, d.session_expiry.map(|e| e.0));
                }
            }
            Action::Drop(c) => {
                for idx in self.targets(world, &c.client) {
                    world.drop_connection(idx);
                }
            }
            Action::Cut(c) => {
                for idx in self.targets(world, &c.client) {
                    world.cut_link(idx);
                }
            }
            Action::Wait(d) => {
                let until = world.now.plus_millis(d.0);
                world.advance_to(until);
            }
            Action::LoseNext(l) => {
                for idx in self.targets(world, &l.client) {
                    world.lose_next(idx, l.direction, l.count, l.packet.clone());
                }
            }
            Action::WithholdAcks(w) => {
                for idx in self.targets(world, &w.client) {
                    world.set_withhold_acks(idx, w.on);
                }
            }
            Action::ReleaseAcks(c) => {
                for idx in self.targets(world, &c.client) {
                    world.release_acks(idx);
                }
            }
            Action::Send(x) => {
                for idx in self.targets(world, &x.client) {
                    let out = match (&x.packet, &x.hex) {
                        (Some(p), _) => Outgoing::Packet(p.clone()),
                        (None, Some(h)) => Outgoing::Bytes(h.0.clone()),
                        (None, None) => continue,
                    };
                    world.send(idx, out);
                }
            }
            Action::StopBroker(_) => world.stop_broker(),
            Action::StartBroker(_) => world.start_broker(),
            Action::RestartBroker(r) => {
                world.stop_broker();
                if let Some(d) = r.downtime {
                    let until = world.now.plus_millis(d.0);
                    world.advance_to(until);
                }
                world.start_broker();
            }
            Action::Say => {}
        }
    }
}
