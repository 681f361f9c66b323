//! Component tests of the page in a real browser (wasm-bindgen-test in headless Chromium):
//! mount the whole App, act on it the way a user does, and read the DOM back.
//! Run with `cargo test -p mqtt-session-lab --target wasm32-unknown-unknown --test components`.
#![cfg(target_arch = "wasm32")]

use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// A mounted App with the page's query string set to `query`; unmounted on drop.
struct Page {
    root: web_sys::HtmlElement,
    _handle: leptos::mount::UnmountHandle<leptos::tachys::view::any_view::AnyViewState>,
}

impl Drop for Page {
    fn drop(&mut self) {
        self.root.remove();
    }
}

async fn page(query: &str) -> Page {
    let w = web_sys::window().unwrap();
    w.history()
        .unwrap()
        .replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&format!("?{query}")))
        .unwrap();
    let doc = w.document().unwrap();
    let root: web_sys::HtmlElement = doc.create_element("div").unwrap().unchecked_into();
    doc.body().unwrap().append_child(&root).unwrap();
    let handle = leptos::mount::mount_to(root.clone(), || mqtt_session_lab::App().into_any());
    settle().await;
    Page {
        root,
        _handle: handle,
    }
}

/// Lets Leptos run its effects.
async fn settle() {
    TimeoutFuture::new(20).await;
}

impl Page {
    fn el(&self, testid: &str) -> web_sys::HtmlElement {
        self.root
            .query_selector(&format!("[data-testid=\"{testid}\"]"))
            .unwrap()
            .unwrap_or_else(|| panic!("no [data-testid={testid}] in the page"))
            .unchecked_into()
    }
    fn text(&self, testid: &str) -> String {
        self.el(testid).text_content().unwrap_or_default()
    }
    async fn click(&self, testid: &str) {
        self.el(testid).click();
        settle().await;
    }
}

#[wasm_bindgen_test]
async fn steps_forward_and_back_with_buttons_and_keys() {
    let p = page("s=takeover-311").await;
    assert_eq!(p.text("step-no"), "Step 0 of 10");
    p.click("next").await;
    p.click("next").await;
    assert_eq!(p.text("step-no"), "Step 2 of 10");
    let key = web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &{
        let init = web_sys::KeyboardEventInit::new();
        init.set_key("End");
        init.set_bubbles(true);
        init
    })
    .unwrap();
    web_sys::window().unwrap().dispatch_event(&key).unwrap();
    settle().await;
    assert_eq!(p.text("step-no"), "Step 10 of 10");
    p.click("prev").await;
    assert_eq!(p.text("step-no"), "Step 9 of 10");
    p.click("first").await;
    assert_eq!(p.text("step-no"), "Step 0 of 10");
}

#[wasm_bindgen_test]
async fn the_version_toggle_switches_to_the_same_moment_of_the_other_version_and_back() {
    // Step 6 of the 3.1.1 lesson is its takeover, played on the specification's profile.
    let p = page("s=takeover-311&step=6").await;
    assert!(!p.text("summary").contains("0x8E"), "{}", p.text("summary"));
    assert_eq!(
        p.el("version-3.1.1")
            .get_attribute("aria-pressed")
            .as_deref(),
        Some("true")
    );
    p.click("version-5.0").await;
    assert!(p.text("summary").contains("0x8E"), "{}", p.text("summary"));
    assert_eq!(
        p.el("version-5.0").get_attribute("aria-pressed").as_deref(),
        Some("true")
    );
    // The picker keeps showing the lesson (one entry for both files); the page lands on the
    // 5.0 file's takeover, on the same broker.
    let sel: web_sys::HtmlSelectElement = p.el("scenario-select").unchecked_into();
    assert_eq!(sel.value(), "takeover-311");
    let v5 = session_engine::Scenario::from_json(
        session_engine::library::text_by_id("takeover-v5").unwrap(),
    )
    .unwrap();
    let at = v5.moment_step("takeover").unwrap();
    assert!(
        p.text("step-no").starts_with(&format!("Step {at} of")),
        "{}",
        p.text("step-no")
    );
    let broker: web_sys::HtmlSelectElement = p.el("broker-select").unchecked_into();
    assert_eq!(broker.value(), "spec");
    assert!(web_sys::window()
        .unwrap()
        .location()
        .search()
        .unwrap()
        .contains("s=takeover-v5"));
    // Back undoes the toggle.
    web_sys::window()
        .unwrap()
        .history()
        .unwrap()
        .back()
        .unwrap();
    TimeoutFuture::new(200).await;
    assert_eq!(
        p.el("version-3.1.1")
            .get_attribute("aria-pressed")
            .as_deref(),
        Some("true")
    );
    assert_eq!(p.text("step-no"), "Step 6 of 10");
    // A scenario written for one version only has the other button disabled.
    let q = {
        drop(p);
        page("s=session-expiry-v5").await
    };
    let b: web_sys::HtmlButtonElement = q.el("version-3.1.1").unchecked_into();
    assert!(b.disabled());
}

#[wasm_bindgen_test]
async fn a_nonsense_link_gets_a_message_and_the_page_keeps_working() {
    let p = page("s=no-such-scenario&step=banana").await;
    let notes = p.root.text_content().unwrap_or_default();
    assert!(notes.contains("no-such-scenario"), "{notes}");
    // The page still steps.
    p.click("next").await;
    assert!(p.text("step-no").starts_with("Step 1 of "));
}

#[wasm_bindgen_test]
async fn the_lifecycle_lights_the_takeover_and_says_it_in_text() {
    let p = page("s=takeover-v5&step=5").await;
    let life = p.text("lifecycle-text");
    assert!(life.contains("gateway-old"), "{life}");
    assert!(life.contains("Connected → Disconnected"), "{life}");
    let hot = p
        .root
        .query_selector_all("[data-testid=lifecycle] .edge.hot")
        .unwrap()
        .length();
    assert!(hot >= 1, "a transition is lit");
}

#[wasm_bindgen_test]
async fn the_seed_replays_the_random_choices_and_refuses_nonsense() {
    let p = page("s=reconnect-storm&step=6&seed=1").await;
    let seed: web_sys::HtmlInputElement = p.el("seed").unchecked_into();
    assert_eq!(seed.value(), "1");
    let before = p.text("packet-list");
    let set = |v: &str| {
        seed.set_value(v);
        seed.dispatch_event(&web_sys::Event::new("change").unwrap())
            .unwrap();
    };
    set("2");
    settle().await;
    let after = p.text("packet-list");
    assert_ne!(
        before, after,
        "full jitter draws other delays with another seed"
    );
    set("1");
    settle().await;
    assert_eq!(p.text("packet-list"), before, "same seed, same run");
    for bad in ["-5", "1e30", ""] {
        set(bad);
        settle().await;
        assert_eq!(seed.value(), "1", "{bad} is refused and the seed stays");
    }
    let text = p.root.text_content().unwrap_or_default();
    assert!(text.contains("is not a whole number"), "{text}");
}
