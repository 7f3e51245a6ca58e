"""Draw the app's PNG icons (192 and 512, plain and maskable) into public/icons.

Run from frontend/: ../.venv/bin/python scripts/make_icons.py  (needs Pillow).
The mark is the brand's diamond: a white rhombus with a teal one inside, on the brand
colour. A maskable icon keeps the mark inside the middle 80% (the safe zone)."""

from pathlib import Path

from PIL import Image, ImageDraw

BRAND = (15, 61, 62)
ACCENT = (31, 138, 112)
WHITE = (255, 255, 255)
OUT = Path(__file__).resolve().parent.parent / "public" / "icons"


def diamond(draw: ImageDraw.ImageDraw, cx: float, cy: float, r: float, fill: tuple[int, int, int]) -> None:
    draw.polygon([(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)], fill=fill)


def icon(size: int, maskable: bool) -> Image.Image:
    scale = 4  # draw large, then shrink: smooth edges
    big = size * scale
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if maskable:
        draw.rectangle([0, 0, big, big], fill=BRAND)
        mark = big * 0.26
    else:
        draw.rounded_rectangle([0, 0, big - 1, big - 1], radius=big * 0.22, fill=BRAND)
        mark = big * 0.34
    c = big / 2
    diamond(draw, c, c, mark, WHITE)
    diamond(draw, c, c, mark * 0.62, BRAND)
    diamond(draw, c, c, mark * 0.36, ACCENT)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        icon(size, maskable=False).save(OUT / f"icon-{size}.png", optimize=True)
        icon(size, maskable=True).save(OUT / f"maskable-{size}.png", optimize=True)
    icon(180, maskable=True).convert("RGB").save(OUT / "apple-touch-icon.png", optimize=True)


if __name__ == "__main__":
    main()
