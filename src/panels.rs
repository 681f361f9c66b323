//! The data panels: Leptos components over the view-models in [`crate::view`].
//!
//! Each panel reads the page state from context ([`crate::state::page`]) and keeps its data in
//! a memo, so a step re-renders only what changed; lists are keyed `<For>`s, so rows that stay
//! keep their DOM (and the focus, and whatever the user opened in them). Text goes into the DOM
//! as text nodes, never as markup; the only HTML strings are the static, non-interactive
//! lifecycle diagram ([`crate::html::lifecycle_for`]).

use crate::state::page;
use crate::view::{self, Change, MessageFate, MsgRow, PacketFilter, PacketRow, SessionGroup};
use leptos::prelude::*;

/// The connections index of one played scenario, equal only to itself (so a memo over it
/// changes only when the scenario does).
#[derive(Clone)]
struct ConnIndex(std::sync::Arc<view::Connections>);

impl PartialEq for ConnIndex {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

/// Packets listed in the packet panel (the newest up to the step; the filters reach the rest).
pub const MAX_PACKETS: usize = 60;

/// Packets of one step listed beside the narration.
pub const MAX_STEP_PACKETS: usize = 14;

/// Message rows per session table (a session can hold thousands; the rest are counted).
pub const MAX_TABLE_ROWS: usize = 12;

/// Messages listed in the fates panel (the newest; the rest are counted).
pub const MAX_FATES: usize = 40;

/// Sessions shown with both ends in full; the rest get a summary row each.
pub const FULL_GROUPS: usize = 6;

/// Rows of a summary table at most.
pub const MAX_ROWS: usize = 200;

/// The narration of the step: its title, the author's sentence, and where the broker departs
/// from the specification here.
#[component]
pub fn NarrationPanel() -> impl IntoView {
    let pg = page();
    let n = pg.narration;
    let devs = move || {
        n.with(|n| {
            n.as_ref().map(|n| {
                n.deviations
                    .iter()
                    .map(|(rule, spec, broker)| {
                        view! {
                            <p class="deviation" data-testid="deviation">
                                <strong>"Spec vs broker "</strong>
                                <span class="cite">{rule.clone()}</span>
                                ": the specification says "{spec.clone()}"; "{broker.clone()}"."
                            </p>
                        }
                    })
                    .collect_view()
            })
        })
    };
    // What the step's claims say on this broker: the author's sentence where it holds here,
    // else the engine's own account (marked), so no sentence shown is false on this profile.
    let claims = move || {
        n.with(|n| {
            n.as_ref().filter(|n| !n.claims.is_empty()).map(|n| {
                view! {
                    <ul class="claims" data-testid="claims">
                        {n.claims.iter().map(|c| view! {
                            <li class:engine=c.engine title=c.engine.then_some("The scenario's sentence for this moment is not true on this broker; this is what the engine did.")>
                                {c.engine.then_some("On this broker: ")}{c.text.clone()}
                                {(!c.cite.is_empty()).then(|| view! { " " <span class="cite">{c.cite.clone()}</span> })}
                            </li>
                        }).collect_view()}
                    </ul>
                }
            })
        })
    };
    view! {
        <section class="narration" data-testid="narration" aria-label="This step's narration">
            <h2>
                <span class="t">{move || n.with(|n| n.as_ref().map(|n| n.time.clone()))}</span>" "
                {move || n.with(|n| n.as_ref().map(|n| n.label.clone()))}
            </h2>
            <p class="say">{move || n.with(|n| n.as_ref().map(|n| n.say.clone()))}</p>
            {claims}
            {devs}
        </section>
    }
}

/// "This step": what the step changed, each change with the rule that decided it, and what
/// the cited statements require; beside the narration, so the effect of a step is in view.
#[component]
pub fn StepChanges() -> impl IntoView {
    let pg = page();
    let changes = Memo::new(move |_| {
        pg.with_step(|p, s| view::step_changes(p, s))
            .unwrap_or_default()
    });
    let statements = Memo::new(move |_| {
        pg.narration
            .with(|n| n.as_ref().map(|n| n.statements.clone()))
            .unwrap_or_default()
    });
    let more = move || {
        changes.with(|(l, total)| {
            (*total > l.len())
                .then(|| view! { <li class="more">"… and "{total - l.len()}" more"</li> })
        })
    };
    view! {
        <section class="panel step" aria-label="What this step changed" data-testid="this-step">
            <h3>"What this step changed"</h3>
            <p class="empty" hidden=move || changes.with(|(l, _)| !l.is_empty())>"Nothing changed in the broker or the clients."</p>
            <ul class="changes" data-testid="changes">
                <For each=move || changes.get().0 key=|c: &Change| c.clone() children=move |c: Change| view! { <ChangeItem change=c /> } />
                {more}
            </ul>
            <details class="stmts" data-testid="statements" hidden=move || statements.with(|s| s.is_empty())>
                <summary class="stmts-h">"What the cited statements require"</summary>
                <dl>
                    {move || statements.get().into_iter().map(|(id, summary)| view! { <dt>{id}</dt><dd>{summary}</dd> }).collect_view()}
                </dl>
            </details>
        </section>
    }
}

/// The packets of the step alone, under the narration (pings follow the packet panel's switch).
#[component]
pub fn StepPackets() -> impl IntoView {
    let pg = page();
    let packets = Memo::new(move |_| {
        let f = PacketFilter {
            pings: pg.show_pings.get(),
            ..PacketFilter::default()
        };
        pg.with_step(|p, s| view::step_packets(p, s, &f, MAX_STEP_PACKETS))
            .unwrap_or_default()
    });
    let more = move || {
        packets.with(|(l, total)| (*total > l.len()).then(|| view! { <li class="more">"… and "{total - l.len()}" more packets (see Packets)"</li> }))
    };
    view! {
        <section class="panel step-packets" aria-label="Packets of this step" data-testid="step-packets" hidden=move || packets.with(|(l, _)| l.is_empty())>
            <h3>"Packets in this step"</h3>
            <ol class="seq">
                <For each=move || packets.get().0 key=|r: &PacketRow| r.id children=move |r: PacketRow| view! { <PacketItem row=r /> } />
                {more}
            </ol>
        </section>
    }
}

/// One change of a step, marked by its kind, with the rule that decided it.
#[component]
fn ChangeItem(
    /// The change, in the engine's words.
    change: Change,
) -> impl IntoView {
    let kind = change.kind.label();
    view! {
        <li class=format!("change {kind}")>
            <span class="kind">{kind}</span>" "{change.text}
            {(!change.cite.is_empty()).then(|| view! { " " <span class="cite">{change.cite}</span> })}
        </li>
    }
}

/// One packet as a row of the sequence diagram: a button that opens it in the inspector.
#[component]
fn PacketItem(
    /// The packet.
    row: PacketRow,
) -> impl IntoView {
    let pg = page();
    let (id, step) = (row.id, row.step);
    let class = format!(
        "{}{}",
        if row.to_broker { "up" } else { "down" },
        if row.lost { " lost" } else { "" }
    );
    view! {
        <li class=class class:current=move || pg.at.get() == step data-step=step>
            <button class="pkt" data-pkt=id aria-pressed=move || (pg.packet.get() == Some(id)).to_string()
                on:click=move |_| pg.packet.set(Some(id))>
                <span class="t">{row.time}</span>
                <span class="who" title=row.client.clone()>{row.client.clone()}</span>
                <span class="arrow">
                    <span class="sr">{if row.to_broker { "to the broker: " } else { "from the broker: " }}</span>
                    <span class="sum">{row.summary}{row.lost.then_some(" ✗ lost")}</span>
                </span>
            </button>
        </li>
    }
}

/// The session lifecycle diagram with every client in its state and the step's moves lit. The
/// diagram is static markup rebuilt per step (nothing in it can be focused or clicked).
#[component]
pub fn LifecyclePanel() -> impl IntoView {
    let pg = page();
    let svg = Memo::new(move |_| {
        pg.with_step(|p, s| crate::html::lifecycle_for(p, s))
            .unwrap_or_default()
    });
    let version = Memo::new(move |_| {
        pg.player
            .with(|p| p.as_ref().map(|p| p.scenario.version.label()).unwrap_or(""))
    });
    view! {
        <section class="panel lifecycle" aria-label="Session lifecycle" data-testid="lifecycle">
            <h3>"Session lifecycle "<small>"(MQTT "{version}")"</small></h3>
            <div class="life" tabindex="0" role="group" aria-label="The lifecycle diagram and each client's state" inner_html=svg></div>
        </section>
    }
}

/// Both ends of every session: each broker session once, beside the device or devices that
/// use its client id.
#[component]
pub fn SessionsPanel() -> impl IntoView {
    let pg = page();
    // How each client's connections ended: read once per played scenario.
    let index = Memo::new(move |_| {
        ConnIndex(std::sync::Arc::new(pg.player.with(|p| {
            p.as_ref()
                .map(|p| view::Connections::new(p))
                .unwrap_or_default()
        })))
    });
    let groups = Memo::new(move |_| {
        let ix = index.get();
        pg.with_step(|p, s| view::session_groups(p, s, &ix.0))
            .unwrap_or_default()
    });
    let full = move || {
        groups.with(|g| {
            g.iter()
                .take(FULL_GROUPS)
                .map(|g| g.client_id.clone())
                .collect::<Vec<_>>()
        })
    };
    let rest = move || groups.with(|g| g.len().saturating_sub(FULL_GROUPS));
    view! {
        <section class="panel sessions" aria-label="Both ends of every session" data-testid="sessions">
            <h3>"Both ends of every session"</h3>
            <For each=full key=|id: &String| id.clone() children=move |id: String| view! { <GroupCard groups=groups client_id=id /> } />
            {move || (rest() > 0).then(|| view! {
                <h4>{rest()}" more sessions"</h4>
                <table class="msgs">
                    <thead><tr><th>"client"</th><th>"connection"</th><th>"broker session"</th><th>"queued"</th><th>"in flight"</th><th>"bytes held"</th></tr></thead>
                    <tbody>
                        {groups.with(|g| g.iter().skip(FULL_GROUPS).take(MAX_ROWS).map(|g| {
                            let names = g.devices.iter().map(|d| d.name.as_str()).collect::<Vec<_>>().join(", ");
                            let conn = g.devices.iter().map(|d| d.connection.as_str()).collect::<Vec<_>>().join("; ");
                            let first = g.devices.first().map(|d| d.name.clone()).unwrap_or_default();
                            view! { <tr data-testid=format!("pair-{first}")><td>{names}</td><td>{conn}</td><td data-testid="broker-state">{g.broker.state.clone()}</td><td>{g.broker.queue_total}</td><td>{g.broker.inflight_total}</td><td>{g.broker.bytes}</td></tr> }
                        }).collect_view())}
                    </tbody>
                </table>
            })}
        </section>
    }
}

/// One broker session with its devices.
#[component]
fn GroupCard(
    /// Every session of the step.
    groups: Memo<Vec<SessionGroup>>,
    /// Which one this card shows.
    client_id: String,
) -> impl IntoView {
    let id = client_id.clone();
    let g = Memo::new(move |_| groups.with(|v| v.iter().find(|g| g.client_id == id).cloned()));
    let rows = Memo::new(move |_| {
        if groups.with(|v| v.len()) > FULL_GROUPS {
            4
        } else {
            MAX_TABLE_ROWS
        }
    });
    let first = g.with_untracked(|g| {
        g.as_ref()
            .and_then(|g| g.devices.first())
            .map(|d| d.name.clone())
            .unwrap_or_default()
    });
    // The devices, the broker's end and its state line change apart: a stored session's
    // countdown moves every step, and only that line is written again.
    let devices =
        Memo::new(move |_| g.with(|g| g.as_ref().map(|g| g.devices.clone()).unwrap_or_default()));
    let state = Memo::new(move |_| {
        g.with(|g| {
            g.as_ref()
                .map(|g| g.broker.state.clone())
                .unwrap_or_default()
        })
    });
    let broker = Memo::new(move |_| {
        g.with(|g| {
            g.as_ref().map(|g| {
                let mut b = g.broker.clone();
                b.state.clear();
                (b, g.devices.len() > 1)
            })
        })
    });
    view! {
        <article class="pair" data-testid=format!("pair-{first}")>
            <div class="devices">
                {move || devices.with(|d| d.iter().map(|c| view! { <ClientCard c=c.clone() rows=rows.get() /> }).collect_view())}
            </div>
            {move || broker.with(|b| b.as_ref().map(|(b, shared)| {
                view! { <BrokerCard b=b.clone() state=state rows=rows.get() shared=*shared /> }
            }))}
        </article>
    }
}

/// The client's end of a session.
#[component]
fn ClientCard(
    /// The device.
    c: view::ClientSide,
    /// Message rows per table at most.
    rows: usize,
) -> impl IntoView {
    let dups = (c.duplicates > 0).then(|| format!(", {} seen twice", c.duplicates));
    view! {
        <div class="side client" class:online=c.online data-testid=format!("client-{}", c.name)>
            <h4>{c.name.clone()}" "<small>"client · id \""{c.client_id.clone()}"\" · MQTT "{c.version}</small></h4>
            <p data-testid="connection">{c.connection.clone()}{c.withholding.then_some(" · withholding acknowledgements")}</p>
            <p>"received "{c.received}" message(s)"{dups}</p>
            <h5>"Own publishes awaiting acknowledgement"</h5>
            <MsgTable rows=c.outgoing.clone() total=c.outgoing_total empty="none" max=rows />
            {(!c.incoming_qos2.is_empty()).then(|| view! { <p>"QoS 2 received, waiting for PUBREL: packet ids "{c.incoming_qos2.join(", ")}</p> })}
            {c.buffer_capacity.map(|cap| view! {
                <h5>"Offline buffer ("{c.buffer_total}" of "{cap}")"</h5>
                <MsgTable rows=c.buffer.clone() total=c.buffer_total empty="empty" max=rows />
            })}
        </div>
    }
}

/// The broker's end of a session.
#[component]
fn BrokerCard(
    /// The session as the broker holds it (its state line apart, in `state`).
    b: view::BrokerSide,
    /// The state line: in use, stored until when, or no session.
    state: Memo<String>,
    /// Message rows per table at most.
    rows: usize,
    /// More than one device uses this client id.
    shared: bool,
) -> impl IntoView {
    let details = b.present.then(|| {
        let subs = if b.subscriptions.is_empty() {
            view! { <p class="empty">"none"</p> }.into_any()
        } else {
            view! { <ul class="subs">{b.subscriptions.iter().map(|(f, o)| view! { <li><code>{f.clone()}</code>" "{o.clone()}</li> }).collect_view()}</ul> }.into_any()
        };
        view! {
            <h5>"Subscriptions"</h5>
            {subs}
            <h5>"Queued ("{b.queue_total}")"</h5>
            <MsgTable rows=b.queue.clone() total=b.queue_total empty="empty" max=rows />
            <h5>"In flight ("{b.inflight_total}")"</h5>
            <MsgTable rows=b.inflight.clone() total=b.inflight_total empty="none" max=rows />
            {(!b.awaiting_pubrel.is_empty()).then(|| view! { <p>"Inbound QoS 2 waiting for PUBREL: packet ids "{b.awaiting_pubrel.join(", ")}</p> })}
            <p>"Will: "{b.will.clone().unwrap_or_else(|| "none".into())}</p>
            <p class="bytes" title="What the broker holds for this session: each message's topic and payload, as the profile counts them">{b.bytes}" bytes held for this session"</p>
        }
    });
    view! {
        <div class="side broker" class:absent=!b.present>
            <h4>"Broker session "<small>"client id \""{b.client_id.clone()}"\""{shared.then_some(", shared by these devices")}</small></h4>
            <p data-testid="broker-state">{move || state.get()}</p>
            {(!b.expiry.is_empty()).then(|| view! { <p class="expiry">{b.expiry.clone()}</p> })}
            {details}
        </div>
    }
}

/// Messages held at one end of a session.
#[component]
fn MsgTable(
    /// The first rows.
    rows: Vec<MsgRow>,
    /// How many there are in all.
    total: usize,
    /// What to say when there are none.
    empty: &'static str,
    /// Rows shown at most.
    max: usize,
) -> impl IntoView {
    if rows.is_empty() {
        return view! { <p class="empty">{empty}</p> }.into_any();
    }
    let shown = max.min(rows.len());
    view! {
        <table class="msgs">
            <thead><tr><th>"message"</th><th>"topic"</th><th>"QoS"</th><th title="Packet Identifier">"packet id"</th><th>"state"</th></tr></thead>
            <tbody>
                {rows.into_iter().take(max).map(|r| view! {
                    <tr>
                        <td>{r.msg}</td>
                        <td title=r.payload>{r.topic}</td>
                        <td><span class=format!("qos q{}", r.qos)>"QoS "{r.qos}</span></td>
                        <td>{r.packet_id}</td>
                        <td>{r.state}{r.expiry.map(|e| view! { <span class="exp">" · expiry "{e}</span> })}</td>
                    </tr>
                }).collect_view()}
                {(total > shown).then(|| view! { <tr><td colspan="5" class="more">"… and "{total - shown}" more"</td></tr> })}
            </tbody>
        </table>
    }
    .into_any()
}

/// Every packet up to the step as a sequence diagram, with filters, the pings switch and the
/// inspector. The list scrolls to the step's packets and marks them.
#[component]
pub fn PacketsPanel() -> impl IntoView {
    let pg = page();
    let clients = Memo::new(move |_| {
        pg.player
            .with(|p| p.as_ref().map(|p| p.client_names()).unwrap_or_default())
    });
    let filter = Memo::new(move |_| PacketFilter {
        client: pg.filter_client.get(),
        kind: pg.filter_kind.get(),
        pings: pg.show_pings.get(),
    });
    let rows = Memo::new(move |_| {
        let f = filter.get();
        pg.with_step(|p, s| view::packet_rows_last(p, s, &f, MAX_PACKETS))
            .unwrap_or_default()
    });
    let list = NodeRef::<leptos::html::Ol>::new();
    // Bring the step's first packet into the list's view (the list scrolls, not the page).
    Effect::new(move |_| {
        let at = pg.at.get();
        rows.track();
        let Some(ol) = list.get() else { return };
        request_animation_frame(move || {
            let Ok(Some(first)) = ol.query_selector(&format!("li[data-step=\"{at}\"]")) else {
                return;
            };
            let Some(first) =
                wasm_bindgen::JsCast::dyn_ref::<web_sys::HtmlElement>(&first).cloned()
            else {
                return;
            };
            let (top, h) = (first.offset_top() - ol.offset_top(), ol.client_height());
            let head = 24;
            if top < ol.scroll_top() + head || top > ol.scroll_top() + h - 30 {
                ol.set_scroll_top((top - head).max(0));
            }
        });
    });
    let kinds: &'static [&'static str] = &session_engine::packet::PACKET_TYPES;
    let skipped = move || rows.with(|(r, total)| total.saturating_sub(r.len()));
    view! {
        <section class="panel packets" aria-label="Packets" data-testid="packets">
            <h3>"Packets"</h3>
            <div class="filters">
                <label><span>"Client"</span>
                    <select name="filter-client" aria-label="Filter packets by client" prop:value=move || pg.filter_client.get()
                        on:change=move |e| pg.filter_client.set(event_target_value(&e))>
                        <option value="">"all"</option>
                        <For each=move || clients.get() key=|c: &String| c.clone() children=move |c: String| view! { <option value=c.clone() selected=move || pg.filter_client.get() == c>{c.clone()}</option> } />
                    </select>
                </label>
                <label><span>"Type"</span>
                    <select name="filter-kind" aria-label="Filter packets by type" prop:value=move || pg.filter_kind.get()
                        on:change=move |e| pg.filter_kind.set(event_target_value(&e))>
                        <option value="">"all"</option>
                        {kinds.iter().map(|k| view! { <option value=*k selected=move || pg.filter_kind.get() == *k>{*k}</option> }).collect_view()}
                    </select>
                </label>
                <label class="check"><input type="checkbox" data-testid="show-pings" prop:checked=move || pg.show_pings.get()
                    on:change=move |e| pg.show_pings.set(event_target_checked(&e)) />
                    <span>"keep-alive pings"</span></label>
            </div>
            <ol class="seq" data-testid="packet-list" node_ref=list>
                <li class="lanes" aria-hidden="true"><span class="t">"time"</span><span class="who">"client"</span><span class="arrow">"broker"</span></li>
                {move || (skipped() > 0).then(|| view! { <li class="more">{skipped()}" earlier packets not shown (filter to see them)"</li> })}
                <For each=move || rows.get().0 key=|r: &PacketRow| r.id children=move |r: PacketRow| view! { <PacketItem row=r /> } />
            </ol>
            <Inspector />
        </section>
    }
}

/// The open packet: its fields, and its bytes on the wire with each byte tagged with its field.
/// Pointing at (or focusing) a field or a byte lights both.
#[component]
fn Inspector() -> impl IntoView {
    let pg = page();
    let data = Memo::new(move |_| {
        let id = pg.packet.get()?;
        pg.player.with(|p| {
            let p = p.as_ref().ok()?;
            let (title, fields) = view::packet_fields(p, id)?;
            let bytes = view::packet_bytes(p, id).map(|r| r.map_err(|e| e.to_string()));
            Some((title, fields, bytes))
        })
    });
    view! {
        {move || data.get().map(|(title, fields, bytes)| {
            let lit = RwSignal::new(None::<usize>);
            view! {
                <div class="inspector" data-testid="inspector" role="region" aria-label="Packet fields">
                    <h4>{title}</h4>
                    <table><tbody>
                        {fields.into_iter().map(|(k, v)| view! { <tr><th>{k}</th><td>{v}</td></tr> }).collect_view()}
                    </tbody></table>
                    {bytes.map(|r| match r {
                        Ok((b, f)) => view! { <HexView bytes=b fields=f lit=lit /> }.into_any(),
                        Err(e) => view! { <p class="notice error" data-testid="no-bytes">"No bytes: "{e}</p> }.into_any(),
                    })}
                    <button on:click=move |_| pg.packet.set(None)>"Close"</button>
                </div>
            }
        })}
    }
}

/// Bytes shown in the hex view at most (a long payload is cut).
const MAX_HEX: usize = 512;

/// A packet's bytes in hex beside the list of its fields (the list is the accessible version).
#[component]
fn HexView(
    /// The bytes.
    bytes: Vec<u8>,
    /// Which bytes are which field.
    fields: Vec<session_engine::codec::Field>,
    /// The field lit, if any.
    lit: RwSignal<Option<usize>>,
) -> impl IntoView {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let field_of = |k: usize| {
        fields
            .iter()
            .position(|f| k >= f.start && k < f.start + f.len)
    };
    let n = bytes.len();
    let cells = bytes
        .iter()
        .enumerate()
        .take(MAX_HEX)
        .map(|(k, b)| {
            let f = field_of(k);
            let hex: String = [DIGITS[usize::from(b >> 4)] as char, DIGITS[usize::from(b & 15)] as char].iter().collect();
            view! { <span class:hl=move || f.is_some() && lit.get() == f on:mouseenter=move |_| lit.set(f)>{hex}</span> }
        })
        .collect_view();
    view! {
        <div class="hexview" data-testid="hex">
            <h5>"Bytes on the wire ("{n}" B)"</h5>
            <p class="hint">"Encoded by the lab's codec from what the model carries; a real broker may add properties the model leaves out. Point at a byte or a field."</p>
            <div class="bytes" aria-hidden="true">
                {cells}
                {(n > MAX_HEX).then(|| view! { <span class="more">"… "{n - MAX_HEX}" more"</span> })}
            </div>
            <ol class="hexfields">
                {fields.iter().enumerate().map(|(i, f)| view! {
                    <li tabindex="0" class:hl=move || lit.get() == Some(i) on:mouseenter=move |_| lit.set(Some(i)) on:focus=move |_| lit.set(Some(i))>
                        <span class="off">{f.start}"+"{f.len}</span>" "<strong>{f.name.clone()}</strong>" "{f.value.clone()}
                    </li>
                }).collect_view()}
            </ol>
        </div>
    }
}

/// Every application message with its fate; "Why?" opens the chain of causes, and stays open
/// across steps.
#[component]
pub fn MessagesPanel() -> impl IntoView {
    let pg = page();
    let fates = Memo::new(move |_| {
        pg.with_step(|p, s| {
            pg.open_why
                .with(|o| view::message_fates_last(p, s, MAX_FATES, Some(o)))
        })
        .unwrap_or_default()
    });
    let ids = move || fates.with(|(f, _)| f.iter().map(|f| f.msg.clone()).collect::<Vec<_>>());
    view! {
        <section class="panel messages" aria-label="Messages and their fate" data-testid="messages">
            <h3>"Messages"</h3>
            <p class="empty" hidden=move || fates.with(|(f, _)| !f.is_empty())>"No application messages yet."</p>
            <ul class="fates">
                {move || fates.with(|(_, skip)| (*skip > 0).then(|| view! { <li class="more">{*skip}" earlier messages not shown"</li> }))}
                <For each=ids key=|m: &String| m.clone() children=move |m: String| view! { <FateItem fates=fates msg=m /> } />
            </ul>
        </section>
    }
}

/// One message, its outcome and its "Why?".
#[component]
fn FateItem(
    /// The messages of the step.
    fates: Memo<(Vec<MessageFate>, usize)>,
    /// Which one.
    msg: String,
) -> impl IntoView {
    let pg = page();
    let id = msg.clone();
    let f = Memo::new(move |_| fates.with(|(v, _)| v.iter().find(|f| f.msg == id).cloned()));
    let id = msg.clone();
    let open = Memo::new(move |_| pg.open_why.with(|o| o.contains(&id)));
    let toggle = {
        let id = msg.clone();
        move |_| {
            pg.open_why.update(|o| {
                if let Some(i) = o.iter().position(|x| *x == id) {
                    o.remove(i);
                } else {
                    o.push(id.clone());
                }
            })
        }
    };
    let text = move |g: fn(&MessageFate) -> String| move || f.with(|f| f.as_ref().map(g));
    view! {
        <li class:trouble=move || f.with(|f| f.as_ref().is_some_and(|f| f.trouble)) data-testid=format!("fate-{msg}")>
            <span class="mid">{msg.clone()}</span>" "
            <code>{text(|f| f.topic.clone())}</code>" \""{text(|f| f.payload.clone())}"\" from "
            {text(|f| if f.from.is_empty() { "?".into() } else { f.from.clone() })}": "
            <strong class="outcome">{text(|f| f.outcome.clone())}</strong>" "
            <button class="why-btn" data-testid=format!("why-{msg}") aria-expanded=move || open.get().to_string() on:click=toggle>"Why?"</button>
            {move || open.get().then(|| f.with(|f| f.as_ref().map(|f| view! {
                // Each copy's chain as the engine wrote it, the link that decided it marked.
                <ul class="copies">
                    {f.copies.iter().map(|c| view! {
                        <li class:trouble=c.trouble>
                            <span class="to">{c.to.clone()}</span>": "<strong>{c.outcome.clone()}</strong>
                            <ol class="chain">
                                {c.chain.iter().map(|l| view! {
                                    <li class:decides=l.decides>
                                        <span class="t">{l.time.clone()}</span>" "{l.text.clone()}
                                        {(!l.cite.is_empty()).then(|| view! { " " <span class="cite">{l.cite.clone()}</span> })}
                                        {l.decides.then_some(view! { <span class="sr">" (this decided it)"</span> })}
                                    </li>
                                }).collect_view()}
                            </ol>
                        </li>
                    }).collect_view()}
                    {(f.copies_total > f.copies.len()).then(|| view! { <li class="more">"… and "{f.copies_total - f.copies.len()}" more copies"</li> })}
                </ul>
            })))}
        </li>
    }
}

/// The broker: its profile, its limits, how it departs from the specification, and every
/// session with the memory it holds; links to the calculators with this run's numbers.
#[component]
pub fn BrokerPanel() -> impl IntoView {
    let pg = page();
    let o = Memo::new(move |_| pg.with_step(|p, s| view::overview(p, s)));
    let links = Memo::new(move |_| {
        pg.with_step(|p, s| view::calculator_links(p, s))
            .unwrap_or_default()
    });
    let open_departures = move |e: leptos::ev::MouseEvent| {
        e.prevent_default();
        if let Some(d) = document().get_element_by_id("departures") {
            let _ = d.set_attribute("open", "");
            d.scroll_into_view();
        }
    };
    view! {
        <section class="panel broker" aria-label="Broker overview" data-testid="broker">
            {move || o.with(|o| o.as_ref().map(|o| {
                let (d, c) = crate::html::departure_counts(&o.departures);
                let plural = |n: usize, one: &'static str, many: &'static str| if n == 1 { one } else { many };
                view! {
                    <h3>"Broker: "{o.broker.clone()}</h3>
                    <p class="source">{o.source.clone()}</p>
                    <table class="limits"><tbody>
                        {o.limits.iter().map(|(k, v)| view! { <tr><th>{k.clone()}</th><td>{v.clone()}</td></tr> }).collect_view()}
                    </tbody></table>
                    {if o.departures.is_empty() {
                        view! { <p class="departures-line">"Every behaviour as the specification states it."</p> }.into_any()
                    } else {
                        view! { <p class="departures-line"><a href="#departures" data-testid="departures-link" on:click=open_departures>{d}" "{plural(d, "departure", "departures")}" from the specification, "{c}" "{plural(c, "choice", "choices")}" of its own"</a></p> }.into_any()
                    }}
                    <table class="all-sessions">
                        <thead><tr><th>"client id"</th><th>"state"</th><th>"queued"</th><th>"in flight"</th><th>"bytes held"</th></tr></thead>
                        <tbody>
                            {o.rows.iter().take(MAX_ROWS).map(|(id, st, q, i, b)| view! { <tr><td>{id.clone()}</td><td>{st.clone()}</td><td>{*q}</td><td>{*i}</td><td>{*b}</td></tr> }).collect_view()}
                            {(o.rows.len() > MAX_ROWS).then(|| view! { <tr><td colspan="5" class="more">"… and "{o.rows.len() - MAX_ROWS}" more sessions"</td></tr> })}
                        </tbody>
                        <tfoot><tr><th colspan="4">"total"</th><td>{o.total_bytes}</td></tr></tfoot>
                    </table>
                }
            }))}
            <p class="calc-links" data-testid="calc-links">"Open in a calculator: "
                <a href=move || links.get().0>"queue memory of these sessions"</a>" · "
                <a href=move || links.get().1>"reconnect storm of these clients"</a>
            </p>
        </section>
    }
}
