//! Drawing a chart on a canvas, sharp on HiDPI screens: the canvas gets device pixels, the
//! context a matching scale, and plotters draws in CSS pixels through `HiDpi`.

use calc::chart::{DARK, LIGHT};
use calc::tool::Chart;
use wasm_bindgen::JsCast;

#[cfg(target_arch = "wasm32")]
mod hidpi {
    use plotters_backend::{
        BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend,
        DrawingErrorKind,
    };
    use plotters_canvas::CanvasBackend;

    type E = DrawingErrorKind<<CanvasBackend as DrawingBackend>::ErrorType>;

    /// A CanvasBackend that reports the CSS size while the canvas holds device pixels.
    pub struct HiDpi {
        pub inner: CanvasBackend,
        pub css: (u32, u32),
    }

    impl DrawingBackend for HiDpi {
        type ErrorType = <CanvasBackend as DrawingBackend>::ErrorType;
        fn get_size(&self) -> (u32, u32) {
            self.css
        }
        fn ensure_prepared(&mut self) -> Result<(), E> {
            self.inner.ensure_prepared()
        }
        fn present(&mut self) -> Result<(), E> {
            self.inner.present()
        }
        fn draw_pixel(&mut self, p: BackendCoord, c: BackendColor) -> Result<(), E> {
            self.inner.draw_pixel(p, c)
        }
        fn draw_line<S: BackendStyle>(
            &mut self,
            a: BackendCoord,
            b: BackendCoord,
            s: &S,
        ) -> Result<(), E> {
            self.inner.draw_line(a, b, s)
        }
        fn draw_rect<S: BackendStyle>(
            &mut self,
            a: BackendCoord,
            b: BackendCoord,
            s: &S,
            f: bool,
        ) -> Result<(), E> {
            self.inner.draw_rect(a, b, s, f)
        }
        fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
            &mut self,
            p: I,
            s: &S,
        ) -> Result<(), E> {
            self.inner.draw_path(p, s)
        }
        fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
            &mut self,
            p: I,
            s: &S,
        ) -> Result<(), E> {
            self.inner.fill_polygon(p, s)
        }
        fn draw_circle<S: BackendStyle>(
            &mut self,
            c: BackendCoord,
            r: u32,
            s: &S,
            f: bool,
        ) -> Result<(), E> {
            self.inner.draw_circle(c, r, s, f)
        }
        fn draw_text<T: BackendTextStyle>(
            &mut self,
            t: &str,
            s: &T,
            p: BackendCoord,
        ) -> Result<(), E> {
            self.inner.draw_text(t, s, p)
        }
    }
}

fn context(c: &web_sys::HtmlCanvasElement) -> Option<web_sys::CanvasRenderingContext2d> {
    c.get_context("2d").ok()??.dyn_into().ok()
}

/// Sizes the canvas for its CSS box and the screen's pixel ratio; returns the CSS size.
fn prepare(c: &web_sys::HtmlCanvasElement) -> Option<(u32, u32)> {
    let dpr = web_sys::window()?.device_pixel_ratio().max(1.0);
    let css = (
        c.client_width().max(1) as u32,
        c.client_height().max(1) as u32,
    );
    c.set_width((css.0 as f64 * dpr).round() as u32);
    c.set_height((css.1 as f64 * dpr).round() as u32);
    context(c)?
        .set_transform(dpr, 0.0, 0.0, dpr, 0.0, 0.0)
        .ok()?;
    Some(css)
}

fn dark() -> bool {
    web_sys::window()
        .and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten())
        .is_some_and(|m| m.matches())
}

pub fn clear(c: &web_sys::HtmlCanvasElement) {
    if let Some(ctx) = context(c) {
        ctx.clear_rect(0.0, 0.0, f64::from(c.width()), f64::from(c.height()));
    }
}

#[cfg(target_arch = "wasm32")]
pub fn draw(c: &web_sys::HtmlCanvasElement, chart: &Chart) {
    use plotters::prelude::IntoDrawingArea;
    let Some(css) = prepare(c) else { return };
    let Some(inner) = plotters_canvas::CanvasBackend::with_canvas_object(c.clone()) else {
        return;
    };
    let root = hidpi::HiDpi { inner, css }.into_drawing_area();
    let _ = calc::tool::draw(chart, &root, if dark() { DARK } else { LIGHT });
}

#[cfg(not(target_arch = "wasm32"))]
pub fn draw(c: &web_sys::HtmlCanvasElement, _chart: &Chart) {
    let _ = (prepare(c), dark(), LIGHT, DARK);
}
