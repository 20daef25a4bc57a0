"""The workstation test harness's own pieces: the keys a person's typing becomes on a
Swedish keyboard, and the screenshot conversion."""

import struct
import sys
import zlib
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from vm import parse_ppm, pixels_of_colour, ppm_to_png, swedish_keys


def test_swedish_letters_are_the_keys_right_of_p_and_l():
    assert swedish_keys("Åsa Öberg-Ängström") == [
        "shift-bracket_left", "s", "a", "spc", "shift-semicolon", "b", "e", "r", "g", "slash",
        "shift-apostrophe", "n", "g", "s", "t", "r", "semicolon", "m",
    ]


def test_a_password_with_digits_and_signs_is_typed_as_on_a_swedish_keyboard():
    assert swedish_keys("Ab1-9a@!\n") == [
        "shift-a", "b", "1", "slash", "9", "a", "ralt-2", "shift-1", "ret",
    ]


def test_a_character_no_key_types_is_refused():
    with pytest.raises(ValueError, match="no key on a Swedish keyboard types '€'"):
        swedish_keys("5 €")


def test_a_screendump_becomes_a_png_with_the_same_pixels():
    pixels = bytes([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30])
    png = ppm_to_png(b"P6\n2 2\n255\n" + pixels)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (2, 2)
    idat_length = struct.unpack(">I", png[33:37])[0]
    assert png[37:41] == b"IDAT"
    rows = zlib.decompress(png[41:41 + idat_length])
    assert rows == b"\x00" + pixels[:6] + b"\x00" + pixels[6:]


def test_a_file_that_is_not_a_binary_ppm_is_refused():
    with pytest.raises(ValueError, match="not a binary PPM"):
        ppm_to_png(b"P3\n2 2\n255\n")


def test_pixels_of_a_colour_are_counted_within_the_tolerance():
    screen = b"P6\n# QEMU\n3 1\n255\n" + bytes([200, 16, 46, 210, 30, 60, 0, 51, 122])
    width, height, pixels = parse_ppm(screen)
    assert (width, height) == (3, 1)
    assert pixels_of_colour(pixels, (200, 16, 46), tolerance=0) == 1
    assert pixels_of_colour(pixels, (200, 16, 46), tolerance=14) == 2
    assert pixels_of_colour(pixels, (255, 255, 255)) == 0
