"""What the person at the door is told, in Indonesian and English, by machine code."""

from __future__ import annotations

from typing import Final

REASONS: Final[dict[str, tuple[str, str]]] = {
    "admitted": ("Silakan masuk.", "Welcome in."),
    "admitted_with_check": (
        "Silakan masuk; petugas akan memeriksa status vaksinasi Anda.",
        "You may enter; staff will check your vaccination status.",
    ),
    "colour_black": (
        "Anda sedang dalam isolasi atau karantina. Dilarang masuk.",
        "You are in isolation or quarantine. Entry refused.",
    ),
    "colour_red": (
        "Tempat ini mewajibkan vaksinasi. Dilarang masuk.",
        "This place requires vaccination. Entry refused.",
    ),
    "colour_yellow": (
        "Tempat ini mewajibkan vaksinasi lengkap. Dilarang masuk.",
        "This place requires full vaccination. Entry refused.",
    ),
    "colour_green": ("Dilarang masuk menurut aturan sektor.", "Entry refused by the sector rule."),
    "venue_full": (
        "Kapasitas tempat ini sudah penuh. Silakan coba lagi nanti.",
        "This place is at capacity. Please try again later.",
    ),
    "outside_opening_hours": (
        "Tempat ini sedang tutup.",
        "This place is closed at this time.",
    ),
    "checked_out": ("Anda telah check-out. Terima kasih.", "You have checked out. Thank you."),
    "recorded": (
        "Kunjungan luring tercatat untuk pelacakan.",
        "Offline visit recorded for contact tracing.",
    ),
    "pending": (
        "Kunjungan luring diterima; dicatat setelah kode tempat ini dapat dikonfirmasi.",
        "Offline visit received; it is recorded as soon as this place's code is confirmed.",
    ),
}

WARNINGS: Final[dict[str, tuple[str, str]]] = {
    "venue_nearly_full": (
        "Tempat ini hampir penuh; jaga jarak.",
        "This place is nearly full; keep your distance.",
    ),
    "red_zone": (
        "Anda berada di zona merah (PPKM level 4). Patuhi protokol kesehatan.",
        "You are in a red zone (PPKM level 4). Follow the health protocol.",
    ),
}


def reason_text(code: str) -> tuple[str, str]:
    return REASONS.get(code, ("Dilarang masuk.", "Entry refused."))
