"""Bahasa Indonesia by default, English on request (the ``lang`` cookie set by the switch,
else the browser's Accept-Language)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request

LANGUAGES = ("id", "en")
LANG_COOKIE = "lindung_portal_lang"

#: key: (Indonesian, English)
MESSAGES: dict[str, tuple[str, str]] = {
    "portal": ("Portal Lindung", "Lindung portal"),
    "skip": ("Lompat ke isi", "Skip to content"),
    "language": ("Bahasa", "Language"),
    "sign_in": ("Masuk", "Sign in"),
    "sign_up": ("Daftar", "Sign up"),
    "sign_out": ("Keluar", "Sign out"),
    "sign_up_title": ("Daftar sebagai pengelola tempat", "Sign up as a venue manager"),
    "sign_up_intro": (
        "Pengelola tempat mendaftarkan tempatnya, mencetak poster QR dan memantau keramaian.",
        "Venue managers register their venues, print QR posters and watch how crowded they get.",
    ),
    "officer_note": (
        "Akun petugas dinas kesehatan dibuat oleh operator.",
        "Health office accounts are created by an operator.",
    ),
    "email": ("Surel", "E-mail"),
    "name": ("Nama", "Name"),
    "password": ("Kata sandi", "Password"),
    "password_hint": ("Minimal 10 karakter.", "At least 10 characters."),
    "bad_sign_in": (
        "Surel atau kata sandi salah, atau akun dikunci sementara.",
        "Wrong e-mail or password, or the account is locked for a while.",
    ),
    "email_taken": ("Surel itu sudah terdaftar.", "That e-mail is already registered."),
    "bad_email": ("Itu bukan alamat surel.", "That is not an e-mail address."),
    "bad_password": (
        "Kata sandi perlu 10 sampai 200 karakter.",
        "The password needs 10 to 200 characters.",
    ),
    "bad_name": ("Nama perlu 1 sampai 200 karakter.", "The name needs 1 to 200 characters."),
    "bad_form": (
        "Formulir kedaluwarsa. Muat ulang halaman lalu coba lagi.",
        "The form has expired. Reload the page and try again.",
    ),
    "totp_title": ("Kode autentikator", "Authenticator code"),
    "totp_code": ("Kode 6 angka", "6-digit code"),
    "totp_wrong": ("Kode salah.", "Wrong code."),
    "totp_setup": ("Verifikasi dua langkah", "Two-step verification"),
    "totp_on": ("Verifikasi dua langkah aktif.", "Two-step verification is on."),
    "totp_intro": (
        "Tambahkan kunci ini ke aplikasi autentikator, lalu masukkan kodenya.",
        "Add this key to an authenticator app, then enter its code.",
    ),
    "enable": ("Aktifkan", "Turn on"),
    "account": ("Akun", "Account"),
    "continue": ("Lanjut", "Continue"),
    "my_venues": ("Tempat saya", "My venues"),
    "no_venues": ("Belum ada tempat terdaftar.", "No venue registered yet."),
    "new_venue": ("Daftarkan tempat", "Register a venue"),
    "venue_name": ("Nama tempat", "Venue name"),
    "category": ("Kategori", "Category"),
    "address": ("Alamat", "Address"),
    "regency_code": ("Kode kabupaten/kota (4 angka)", "Regency code (4 digits)"),
    "regency": ("Kabupaten/kota", "Regency"),
    "latitude": ("Lintang", "Latitude"),
    "longitude": ("Bujur", "Longitude"),
    "capacity": ("Kapasitas", "Capacity"),
    "effective_capacity": ("Kapasitas berlaku", "Effective capacity"),
    "entrances": ("Pintu masuk (satu per baris)", "Entrances (one per line)"),
    "opens": ("Buka", "Opens"),
    "closes": ("Tutup", "Closes"),
    "hours_hint": ("Kosongkan bila buka 24 jam.", "Leave empty when always open."),
    "register": ("Daftarkan", "Register"),
    "present": ("Di dalam sekarang", "Inside now"),
    "occupancy": ("Keramaian", "Occupancy"),
    "state_open": ("Longgar", "Open"),
    "state_nearly_full": ("Hampir penuh", "Nearly full"),
    "state_full": ("Penuh", "Full"),
    "state_unknown": ("Belum ada data", "No data yet"),
    "today": ("Hari ini", "Today"),
    "admitted": ("Diterima", "Admitted"),
    "refused": ("Ditolak", "Refused"),
    "by_colour": ("menurut warna", "by colour"),
    "chart_title": ("Kunjungan hari ini menurut warna", "Today's visits by colour"),
    "colour_green": ("hijau", "green"),
    "colour_yellow": ("kuning", "yellow"),
    "colour_red": ("merah", "red"),
    "colour_black": ("hitam", "black"),
    "alerts": ("Peringatan", "Alerts"),
    "no_alerts": ("Belum ada peringatan.", "No alerts yet."),
    "codes": ("Kode QR dan poster", "QR codes and posters"),
    "entrance": ("Pintu", "Entrance"),
    "poster": ("Poster", "Poster"),
    "revoke": ("Cabut", "Revoke"),
    "issue_code": ("Terbitkan kode baru", "Issue a new code"),
    "revoked": ("Kode dicabut.", "Code revoked."),
    "level": ("Level PPKM", "PPKM level"),
    "level_changed": ("Level PPKM kabupaten/kota berubah", "The regency's PPKM level changed"),
    "set_level": ("Tetapkan level", "Set the level"),
    "note": ("Catatan", "Note"),
    "reason": ("Alasan (dicatat di log audit)", "Reason (kept in the audit log)"),
    "publish_rule": ("Terbitkan versi aturan", "Publish a rule version"),
    "valid_from": ("Berlaku mulai", "Valid from"),
    "valid_to": ("Berlaku sampai (boleh kosong)", "Valid until (may be empty)"),
    "description": ("Keterangan", "Description"),
    "parameters": ("Parameter (JSON)", "Parameters (JSON)"),
    "publish": ("Terbitkan", "Publish"),
    "in_force": ("Berlaku", "In force"),
    "admin_only": (
        "Hanya admin yang dapat menerbitkan aturan.",
        "Only admins publish rules.",
    ),
    "history": ("Riwayat", "History"),
    "regency_dashboard": ("Dasbor kabupaten/kota", "Regency dashboard"),
    "jurisdiction": ("Wilayah kerja", "Jurisdiction"),
    "national": ("Nasional", "National"),
    "venues": ("Tempat", "Venues"),
    "open_regency": ("Buka", "Open"),
    "not_found": ("Tidak ditemukan.", "Not found."),
    "unavailable": (
        "Layanan sedang tidak tersedia. Coba lagi sebentar lagi.",
        "A service is unavailable. Try again in a moment.",
    ),
    "live": ("Diperbarui langsung", "Updated live"),
    "when": ("Waktu", "When"),
    "by": ("Oleh", "By"),
    "saved": ("Tersimpan.", "Saved."),
    "nik_lookup": ("Cari NIK", "NIK look-up"),
    "purpose": ("Tujuan", "Purpose"),
    "lookup": ("Cari", "Look up"),
    "audit": ("Jejak audit pencarian", "Audit trail of look-ups"),
    "rules": ("Aturan skrining", "Screening rules"),
    "version": ("Versi", "Version"),
    "case_visits": ("Kunjungan kasus 14 hari terakhir", "Case visits, last 14 days"),
    "contacts_notified": ("Kontak erat diberi tahu", "Contacts notified"),
    "vaccinated_share": ("Pengunjung tervaksinasi", "Vaccinated visitors"),
    "hot_spots": ("Titik ramai", "Crowding hot spots"),
    "status": ("Status", "Status"),
    "back": ("Kembali", "Back"),
}


def negotiate(request: Request) -> str:
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    best, best_q = "id", -1.0
    for part in request.headers.get("accept-language", "")[:500].split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        primary = tag.strip().lower()[:2]
        if primary in LANGUAGES and q > 0 and q > best_q:
            best, best_q = primary, q
    return best


def translator(language: str) -> Callable[[str], str]:
    index = LANGUAGES.index(language) if language in LANGUAGES else 0

    def t(key: str) -> str:
        pair = MESSAGES.get(key)
        return pair[index] if pair else key

    return t
