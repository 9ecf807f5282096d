// Bahasa Indonesia (the default) and English. Keys are short; every screen's text is here.
const TEXT = {
  id: {
    home: "Beranda", scan: "Pindai", visits: "Kunjungan", inbox: "Kotak masuk", more: "Lainnya",
    health: "Vaksin & tes", certificates: "Sertifikat", settings: "Pengaturan",
    signin_title: "Masuk", phone: "Nomor HP", send_code: "Kirim kode SMS",
    code: "Kode dari SMS (6 angka)", signin: "Masuk", code_sent: "Kode dikirim lewat SMS.",
    no_account: "Belum terdaftar?", register: "Daftar", register_title: "Daftar",
    nik: "NIK (16 angka)", full_name: "Nama lengkap (sesuai KTP)", birth_date: "Tanggal lahir",
    registered: "Terdaftar. Masuk dengan kode SMS.", have_account: "Sudah terdaftar?",
    status_title: "Status saya", until: "berlaku sampai", until_change: "sampai catatan berubah",
    colour_green: "Hijau", colour_yellow: "Kuning", colour_red: "Merah", colour_black: "Hitam",
    reason_isolation: "isolasi (kasus terkonfirmasi)", reason_quarantine: "karantina (kontak erat)",
    reason_fully_vaccinated: "vaksinasi lengkap", reason_booster: "sudah booster",
    reason_child_exempt: "anak (dikecualikan)", reason_negative_test: "hasil tes negatif",
    reason_partially_vaccinated: "vaksinasi belum lengkap", reason_unvaccinated: "belum divaksin",
    scan_title: "Pindai poster QR", scan_hint: "Arahkan kamera ke kode QR pada poster tempat.",
    start_camera: "Buka kamera", pick_photo: "Pilih foto poster", no_camera: "Kamera tidak tersedia; pilih foto poster.",
    no_qr: "Tidak ada kode QR Lindung pada gambar ini.", checking_in: "Memeriksa…",
    admitted: "Silakan masuk", refused: "Tidak boleh masuk", checked_out: "Anda sudah keluar",
    occupancy: "Pengunjung", checkout: "Check-out", close: "Tutup", checked_out_ok: "Check-out tercatat.",
    saved_offline: "Tersimpan di ponsel", saved_offline_detail: "Anda sedang luring. Pindaian dikirim otomatis saat tersambung lagi.",
    offline: "Luring", online: "Daring", pending_scans: "Pindaian luring menunggu dikirim",
    uploaded_scans: "Pindaian luring terkirim", status_recorded: "tercatat", status_admitted: "masuk",
    status_refused: "ditolak", status_pending: "ditahan (menunggu data tempat)", status_rejected: "ditolak server",
    status_checked_out: "keluar",
    visits_title: "Kunjungan 14 hari terakhir", no_visits: "Belum ada kunjungan.", present: "masih di dalam",
    source_offline: "luring", inbox_title: "Kotak masuk", no_messages: "Tidak ada pesan.", new_message: "Pesan baru",
    mark_read: "Tandai dibaca", unread: "belum dibaca",
    vaccinations: "Vaksinasi", tests: "Tes", cases: "Kasus", dose: "Dosis", none: "Tidak ada.",
    positive: "positif", negative: "negatif", retracted: "dibatalkan",
    certs_title: "Sertifikat saya (EU DCC)", no_certs: "Belum ada sertifikat.", show_qr: "Tampilkan QR",
    cert_vaccination: "Vaksinasi", cert_test: "Tes", cert_recovery: "Pemulihan", expires: "berlaku sampai",
    qr_hint: "Tunjukkan kode ini kepada petugas pemeriksa.",
    language: "Bahasa", push_title: "Notifikasi push", push_enable: "Aktifkan notifikasi push",
    push_on: "Notifikasi push aktif di perangkat ini.", push_unavailable: "Notifikasi push tidak tersedia di peramban ini.",
    push_denied: "Izin notifikasi ditolak.", signout: "Keluar", error: "Terjadi kesalahan", retry: "Coba lagi",
    need_signin: "Silakan masuk dulu.", install: "Pasang aplikasi",
  },
  en: {
    home: "Home", scan: "Scan", visits: "Visits", inbox: "Inbox", more: "More",
    health: "Vaccines & tests", certificates: "Certificates", settings: "Settings",
    signin_title: "Sign in", phone: "Phone number", send_code: "Send SMS code",
    code: "Code from the SMS (6 digits)", signin: "Sign in", code_sent: "Code sent by SMS.",
    no_account: "Not registered yet?", register: "Register", register_title: "Register",
    nik: "NIK (16 digits)", full_name: "Full name (as on the ID card)", birth_date: "Birth date",
    registered: "Registered. Sign in with the SMS code.", have_account: "Already registered?",
    status_title: "My status", until: "valid until", until_change: "until the records change",
    colour_green: "Green", colour_yellow: "Yellow", colour_red: "Red", colour_black: "Black",
    reason_isolation: "isolation (confirmed case)", reason_quarantine: "quarantine (close contact)",
    reason_fully_vaccinated: "fully vaccinated", reason_booster: "boosted",
    reason_child_exempt: "child (exempt)", reason_negative_test: "negative test",
    reason_partially_vaccinated: "partially vaccinated", reason_unvaccinated: "not vaccinated",
    scan_title: "Scan a QR poster", scan_hint: "Point the camera at the QR code on the venue's poster.",
    start_camera: "Open the camera", pick_photo: "Pick a photo of the poster", no_camera: "No camera; pick a photo of the poster.",
    no_qr: "No Lindung QR code in this picture.", checking_in: "Checking…",
    admitted: "Welcome in", refused: "Entry refused", checked_out: "You have checked out",
    occupancy: "Visitors", checkout: "Check out", close: "Close", checked_out_ok: "Checked out.",
    saved_offline: "Saved on this phone", saved_offline_detail: "You are offline. The scan is sent automatically when you are back online.",
    offline: "Offline", online: "Online", pending_scans: "Offline scans waiting to be sent",
    uploaded_scans: "Offline scans sent", status_recorded: "recorded", status_admitted: "admitted",
    status_refused: "refused", status_pending: "held (waiting for the venue's data)", status_rejected: "rejected by the server",
    status_checked_out: "checked out",
    visits_title: "Visits of the last 14 days", no_visits: "No visits yet.", present: "still inside",
    source_offline: "offline", inbox_title: "Inbox", no_messages: "No messages.", new_message: "New message",
    mark_read: "Mark read", unread: "unread",
    vaccinations: "Vaccinations", tests: "Tests", cases: "Cases", dose: "Dose", none: "None.",
    positive: "positive", negative: "negative", retracted: "retracted",
    certs_title: "My certificates (EU DCC)", no_certs: "No certificates yet.", show_qr: "Show QR",
    cert_vaccination: "Vaccination", cert_test: "Test", cert_recovery: "Recovery", expires: "valid until",
    qr_hint: "Show this code to the verifier.",
    language: "Language", push_title: "Push notifications", push_enable: "Turn on push notifications",
    push_on: "Push notifications are on for this device.", push_unavailable: "Push notifications are not available in this browser.",
    push_denied: "Notification permission denied.", signout: "Sign out", error: "Something went wrong", retry: "Try again",
    need_signin: "Please sign in first.", install: "Install the app",
  },
};

let current = localStorage.getItem("lindung.lang") === "en" ? "en" : "id";

export function lang() {
  return current;
}

export function setLang(value) {
  current = value === "en" ? "en" : "id";
  localStorage.setItem("lindung.lang", current);
  document.documentElement.lang = current;
}

export function t(key) {
  return TEXT[current][key] ?? TEXT.id[key] ?? key;
}

// A server text ({code, id, en}) in the current language.
export function tx(text) {
  if (!text) return "";
  return text[current] ?? text.id ?? text.code ?? "";
}

export function when(iso) {
  if (!iso) return "";
  const locale = current === "en" ? "en-GB" : "id-ID";
  return new Intl.DateTimeFormat(locale, {
    dateStyle: "medium", timeStyle: "short", timeZone: "Asia/Jakarta",
  }).format(new Date(iso)) + " WIB";
}

export function day(iso) {
  if (!iso) return "";
  const locale = current === "en" ? "en-GB" : "id-ID";
  return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeZone: "Asia/Jakarta" }).format(new Date(iso));
}
