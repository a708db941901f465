//! Input-token estimates of attachments, by each provider's published
//! rules, so the pre-send window check and `count-tokens --cost` include
//! them.
//!
//! - Anthropic: an image is scaled down (aspect kept) until its long edge
//!   is at most 1568 px and it costs at most ~1600 tokens; it then costs
//!   `width * height / 750` tokens.
//! - OpenAI (high detail): the image is scaled to fit 2048x2048, then so
//!   its short side is at most 768 px; it costs 85 tokens plus 170 per
//!   512 px tile.
//! - PDFs: Anthropic publishes 1,500 to 3,000 tokens per page (text and
//!   the page's image); the estimate takes the upper bound.

/// Tokens per PDF page (the upper bound of the published range).
pub const PDF_PAGE_TOKENS: u64 = 3_000;

/// An image of `width` x `height` pixels on Anthropic's API.
pub fn anthropic_image(width: u64, height: u64) -> u64 {
    let (w, h) = (width as f64, height as f64);
    let long_edge = (1568.0 / w.max(h)).min(1.0);
    let area = ((1600.0 * 750.0) / (w * h)).sqrt().min(1.0);
    let scale = long_edge.min(area);
    let (w, h) = ((w * scale).floor().max(1.0), (h * scale).floor().max(1.0));
    ((w * h) / 750.0).ceil() as u64
}

/// An image of `width` x `height` pixels on OpenAI's API (high detail).
pub fn openai_image(width: u64, height: u64) -> u64 {
    let (mut w, mut h) = (width as f64, height as f64);
    let fit = (2048.0 / w.max(h)).min(1.0);
    w *= fit;
    h *= fit;
    let short = (768.0 / w.min(h)).min(1.0);
    w *= short;
    h *= short;
    let tiles = (w / 512.0).ceil() * (h / 512.0).ceil();
    85 + 170 * tiles as u64
}

/// How many pages a PDF has, counted from its page objects (at least 1).
pub fn pdf_pages(bytes: &[u8]) -> u64 {
    let pattern = regex::bytes::Regex::new(r"/Type\s*/Page\b").expect("a valid pattern");
    (pattern.find_iter(bytes).count() as u64).max(1)
}

/// A PDF of `pages` pages.
pub fn pdf(pages: u64) -> u64 {
    pages * PDF_PAGE_TOKENS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anthropic_images_follow_the_published_table() {
        // Anthropic's examples: 200x200 ~54 tokens, 1000x1000 ~1334,
        // 1092x1092 ~1590 (the largest square kept as it is).
        assert_eq!(anthropic_image(200, 200), 54);
        assert_eq!(anthropic_image(1000, 1000), 1334);
        assert_eq!(anthropic_image(1092, 1092), 1590);
        // Larger images are scaled down to about 1600 tokens.
        assert!((1550..=1600).contains(&anthropic_image(4000, 3000)));
    }

    #[test]
    fn openai_images_follow_the_published_examples() {
        // OpenAI's examples: 1024x1024 is 765 tokens, 2048x4096 is 1105.
        assert_eq!(openai_image(1024, 1024), 765);
        assert_eq!(openai_image(2048, 4096), 1105);
        assert_eq!(openai_image(1, 1), 255);
    }

    #[test]
    fn pdf_pages_are_page_objects_not_the_page_tree() {
        let pdf_text = b"<< /Type /Pages /Count 2 >> << /Type /Page >> << /Type/Page >>";
        assert_eq!(pdf_pages(pdf_text), 2);
        assert_eq!(pdf_pages(b"%PDF-1.4"), 1);
    }
}
