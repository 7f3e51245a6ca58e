"""A fake camera for Chromium: a Y4M video of a QR code, for
`--use-file-for-fake-video-capture` (Chromium loops the file as the webcam's picture).

Y4M is a header line, then per frame `FRAME\\n` and the planes of 4:2:0 YCbCr: the full
size luma plane, then the quarter size Cb and Cr planes. A QR code is black and white,
so luma is the picture and both chroma planes are neutral (128).
"""

from __future__ import annotations

from pathlib import Path

import qrcode
from PIL import Image

WIDTH, HEIGHT = 640, 480


def qr_frame(payload: str, width: int = WIDTH, height: int = HEIGHT) -> Image.Image:
    """The QR code of `payload`, centred on white with a quiet zone, as 8-bit grey."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    code.add_data(payload)
    code.make(fit=True)
    side = min(width, height) - 40
    picture = code.make_image(fill_color="black", back_color="white").get_image()
    picture = picture.convert("L").resize((side, side), Image.Resampling.NEAREST)
    frame = Image.new("L", (width, height), 255)
    frame.paste(picture, ((width - side) // 2, (height - side) // 2))
    return frame


def write_qr_y4m(payload: str, path: Path, *, frames: int = 15, fps: int = 15) -> Path:
    """A short Y4M clip of `payload`'s QR code at `path` (looped by Chromium)."""
    frame = qr_frame(payload)
    luma = frame.tobytes()
    chroma = bytes([128]) * ((WIDTH // 2) * (HEIGHT // 2))
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n")
            out.write(luma)
            out.write(chroma)
            out.write(chroma)
    return path


def camera_flags(video: Path) -> list[str]:
    """Chromium flags that make `video` the only camera and grant it without asking."""
    return [
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]
