"""Message templates as data: one entry per (template key, language).

Placeholders are ``str.format`` fields filled with values the renderer has already localised
(times in the venue's zone with its abbreviation, colours and reasons in the language).
Indonesian is the default language; every key must exist in both languages (a test checks it).
"""

from __future__ import annotations

from typing import Final

#: (template key, language) -> (title, body)
TEMPLATES: Final[dict[tuple[str, str], tuple[str, str]]] = {
    ("exposure.detected", "id"): (
        "Anda kontak erat kasus COVID-19",
        "Anda berada di {venue_name} pada {start} sampai {end}, bersamaan dengan seorang kasus "
        "terkonfirmasi. Segera lakukan tes PCR dan karantina mandiri sampai {quarantine_until}.",
    ),
    ("exposure.detected", "en"): (
        "You were a close contact of a COVID-19 case",
        "You were at {venue_name} from {start} to {end}, at the same time as a confirmed case. "
        "Get a PCR test and quarantine at home until {quarantine_until}.",
    ),
    ("exposure.retracted", "id"): (
        "Koreksi: peringatan kontak erat dibatalkan",
        "Peringatan kontak erat Anda di {venue_name} dibatalkan karena hasil tes kasus "
        "tersebut dikoreksi. Anda tidak perlu karantina karena peringatan ini.",
    ),
    ("exposure.retracted", "en"): (
        "Correction: close-contact alert withdrawn",
        "Your close-contact alert for {venue_name} is withdrawn because the case's test result "
        "was corrected. You do not need to quarantine because of that alert.",
    ),
    ("exposure.advised", "id"): (
        "Waspada: Anda berada di dekat suspek COVID-19",
        "Anda berada di {venue_name} pada {start} sampai {end}, bersamaan dengan seorang "
        "suspek COVID-19 (pasien dalam pengawasan). Ini bukan perintah karantina: pantau gejala "
        "Anda dan lakukan tes. Anda akan diberi tahu bila suspek terkonfirmasi atau dinyatakan "
        "bukan kasus.",
    ),
    ("exposure.advised", "en"): (
        "Advisory: you were near a suspected COVID-19 case",
        "You were at {venue_name} from {start} to {end}, at the same time as a suspected "
        "COVID-19 case (a patient under surveillance). This is not a quarantine order: watch "
        "for symptoms and get tested. You will be told if the case is confirmed or ruled out.",
    ),
    ("exposure.upgraded", "id"): (
        "Suspek dikonfirmasi: Anda kini kontak erat",
        "Suspek COVID-19 yang berada di {venue_name} pada {start} sampai {end} kini "
        "terkonfirmasi positif. Peringatan sebelumnya kini menjadi status kontak erat: segera "
        "lakukan tes PCR dan karantina mandiri sampai {quarantine_until}.",
    ),
    ("exposure.upgraded", "en"): (
        "Suspected case confirmed: you are now a close contact",
        "The suspected COVID-19 case who was at {venue_name} from {start} to {end} is now "
        "confirmed. Your earlier advisory becomes a close-contact alert: get a PCR test and "
        "quarantine at home until {quarantine_until}.",
    ),
    ("exposure.advisory_withdrawn", "id"): (
        "Koreksi: peringatan suspek dibatalkan",
        "Peringatan tentang suspek COVID-19 di {venue_name} dibatalkan: suspek tersebut "
        "dinyatakan bukan kasus COVID-19. Tidak ada tindakan lebih lanjut yang diperlukan "
        "karena peringatan itu.",
    ),
    ("exposure.advisory_withdrawn", "en"): (
        "Correction: suspected-case advisory withdrawn",
        "The advisory about a suspected COVID-19 case at {venue_name} is withdrawn: the case "
        "was ruled out. No further action is needed because of that advisory.",
    ),
    ("venue.suspect_visited", "id"): (
        "Suspek COVID-19 mengunjungi {venue_name}",
        "Seorang suspek COVID-19 (pasien dalam pengawasan) berada di {venue_name} pada {day}, "
        "antara pukul {hours}. Belum terkonfirmasi: bersihkan area dan minta staf memantau "
        "gejala.",
    ),
    ("venue.suspect_visited", "en"): (
        "A suspected COVID-19 case visited {venue_name}",
        "A suspected COVID-19 case (a patient under surveillance) was at {venue_name} on {day}, "
        "between {hours}. Not confirmed yet: clean the premises and ask staff to watch for "
        "symptoms.",
    ),
    ("venue.suspect_visit_withdrawn", "id"): (
        "Koreksi: kunjungan suspek di {venue_name} dibatalkan",
        "Pemberitahuan suspek COVID-19 di {venue_name} pada {day}, antara pukul {hours}, "
        "dibatalkan: suspek tersebut dinyatakan bukan kasus COVID-19.",
    ),
    ("venue.suspect_visit_withdrawn", "en"): (
        "Correction: suspected-case visit at {venue_name} withdrawn",
        "The alert about a suspected COVID-19 case at {venue_name} on {day}, between {hours}, "
        "is withdrawn: the case was ruled out.",
    ),
    ("status.black", "id"): (
        "Status Anda: hitam",
        "Status kesehatan Anda kini hitam ({reasons}) sampai {valid_until}. Anda tidak dapat "
        "memasuki tempat umum selama periode ini.",
    ),
    ("status.black", "en"): (
        "Your status: black",
        "Your health status is now black ({reasons}) until {valid_until}. You cannot enter "
        "public places during this period.",
    ),
    ("status.red", "id"): (
        "Status Anda: merah",
        "Status kesehatan Anda kini merah ({reasons}). Beberapa tempat mewajibkan vaksinasi.",
    ),
    ("status.red", "en"): (
        "Your status: red",
        "Your health status is now red ({reasons}). Some places require vaccination.",
    ),
    ("status.yellow", "id"): (
        "Status Anda: kuning",
        "Status kesehatan Anda kini kuning ({reasons}). Lengkapi vaksinasi Anda.",
    ),
    ("status.yellow", "en"): (
        "Your status: yellow",
        "Your health status is now yellow ({reasons}). Complete your vaccination.",
    ),
    ("status.green", "id"): (
        "Status Anda: hijau",
        "Status kesehatan Anda kini hijau ({reasons}).",
    ),
    ("status.green", "en"): (
        "Your status: green",
        "Your health status is now green ({reasons}).",
    ),
    ("case.confirmed", "id"): (
        "Hasil tes Anda positif",
        "Anda terkonfirmasi positif COVID-19 (sampel {sample_taken}). Lakukan isolasi mandiri "
        "sampai {isolation_until}, pantau gejala, dan hubungi fasilitas kesehatan bila sesak "
        "napas.",
    ),
    ("case.confirmed", "en"): (
        "Your test is positive",
        "You are a confirmed COVID-19 case (sample {sample_taken}). Isolate at home until "
        "{isolation_until}, watch your symptoms, and call a health facility if you are short of "
        "breath.",
    ),
    ("case.retracted", "id"): (
        "Koreksi: hasil positif dibatalkan",
        "Hasil positif Anda telah dikoreksi dan dibatalkan. Abaikan anjuran isolasi sebelumnya.",
    ),
    ("case.retracted", "en"): (
        "Correction: positive result withdrawn",
        "Your positive result was corrected and withdrawn. Disregard the earlier isolation "
        "guidance.",
    ),
    ("venue.case_visited", "id"): (
        "Kasus terkonfirmasi mengunjungi {venue_name}",
        "Seorang kasus terkonfirmasi COVID-19 berada di {venue_name} pada {day}, antara pukul "
        "{hours}. Bersihkan area dan ikuti arahan dinas kesehatan.",
    ),
    ("venue.case_visited", "en"): (
        "A confirmed case visited {venue_name}",
        "A confirmed COVID-19 case was at {venue_name} on {day}, between {hours}. Clean the "
        "premises and follow the health office's guidance.",
    ),
    ("venue.case_visit_retracted", "id"): (
        "Koreksi: kunjungan kasus di {venue_name} dibatalkan",
        "Pemberitahuan kasus terkonfirmasi di {venue_name} pada {day}, antara pukul {hours}, "
        "dibatalkan: hasil positifnya telah dikoreksi. Tidak ada tindakan lebih lanjut yang "
        "diperlukan.",
    ),
    ("venue.case_visit_retracted", "en"): (
        "Correction: case visit at {venue_name} withdrawn",
        "The alert about a confirmed case at {venue_name} on {day}, between {hours}, is "
        "withdrawn: the positive result was corrected. No further action is needed.",
    ),
    ("venue.crowding.near", "id"): (
        "{venue_name} hampir penuh",
        "{venue_name} berisi {present} dari {capacity} orang ({percent}%) pada {at}.",
    ),
    ("venue.crowding.near", "en"): (
        "{venue_name} is nearly full",
        "{venue_name} holds {present} of {capacity} people ({percent}%) at {at}.",
    ),
    ("venue.crowding.full", "id"): (
        "{venue_name} penuh",
        "{venue_name} mencapai kapasitas: {present} dari {capacity} orang pada {at}. Tahan "
        "pengunjung baru di pintu masuk.",
    ),
    ("venue.crowding.full", "en"): (
        "{venue_name} is full",
        "{venue_name} reached capacity: {present} of {capacity} people at {at}. Hold new "
        "visitors at the entrance.",
    ),
    ("zone.red", "id"): (
        "Wilayah yang Anda kunjungi kini zona merah",
        "Wilayah {regency_code} kini zona merah (PPKM level {level}). Anda terakhir berkunjung "
        "pada {last_visit}. Pantau gejala dan lakukan tes bila perlu.",
    ),
    ("zone.red", "en"): (
        "An area you visited is now a red zone",
        "Regency {regency_code} is now a red zone (PPKM level {level}). You last visited on "
        "{last_visit}. Watch for symptoms and get tested if needed.",
    ),
    ("zone.orange", "id"): (
        "Wilayah yang Anda kunjungi kini zona oranye",
        "Wilayah {regency_code} kini zona oranye (PPKM level {level}). Anda terakhir berkunjung "
        "pada {last_visit}.",
    ),
    ("zone.orange", "en"): (
        "An area you visited is now an orange zone",
        "Regency {regency_code} is now an orange zone (PPKM level {level}). You last visited on "
        "{last_visit}.",
    ),
    ("sign_in.code", "id"): (
        "Kode masuk Lindung",
        "Kode masuk Lindung Anda: {code}. Berlaku sampai {expires}. Jangan berikan kode ini "
        "kepada siapa pun.",
    ),
    ("sign_in.code", "en"): (
        "Lindung sign-in code",
        "Your Lindung sign-in code: {code}. Valid until {expires}. Never share this code.",
    ),
    ("phone.changed_by_person", "id"): (
        "Nomor telepon Lindung diganti",
        "Nomor telepon akun Lindung Anda diganti ke nomor lain pada {changed_at}. Jika bukan "
        "Anda yang menggantinya, datangi petugas kesehatan dengan KTP Anda.",
    ),
    ("phone.changed_by_person", "en"): (
        "Lindung phone number changed",
        "The phone number of your Lindung account was changed to another number on "
        "{changed_at}. If you did not do this, see a health officer with your KTP.",
    ),
    ("phone.changed_by_officer", "id"): (
        "Nomor telepon Lindung dipindahkan",
        "Seorang petugas kesehatan memindahkan akun Lindung dengan NIK ini ke nomor lain pada "
        "{changed_at}. Sesi di ponsel ini telah diakhiri.",
    ),
    ("phone.changed_by_officer", "en"): (
        "Lindung phone number moved",
        "A health officer moved the Lindung account of this NIK to another number on "
        "{changed_at}. The sessions on this phone have been ended.",
    ),
}

#: Words the renderer puts into placeholders, per language.
TERMS: Final[dict[str, dict[str, str]]] = {
    "id": {
        "colour.black": "hitam",
        "colour.red": "merah",
        "colour.yellow": "kuning",
        "colour.green": "hijau",
        "reason.isolation": "isolasi",
        "reason.quarantine": "karantina",
        "reason.unvaccinated": "belum vaksin",
        "reason.partly_vaccinated": "vaksin dosis pertama",
        "reason.vaccinated": "vaksin lengkap",
        "reason.negative_test": "tes negatif",
        "reason.none": "tanpa keterangan",
        "venue.unknown": "sebuah lokasi",
    },
    "en": {
        "colour.black": "black",
        "colour.red": "red",
        "colour.yellow": "yellow",
        "colour.green": "green",
        "reason.isolation": "isolation",
        "reason.quarantine": "quarantine",
        "reason.unvaccinated": "not vaccinated",
        "reason.partly_vaccinated": "first dose",
        "reason.vaccinated": "fully vaccinated",
        "reason.negative_test": "negative test",
        "reason.none": "no reason given",
        "venue.unknown": "a venue",
    },
}

MONTHS: Final[dict[str, tuple[str, ...]]] = {
    "id": ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}
