// The app's calls, all same-origin through the gateway (/api): the session is an httpOnly
// cookie the app never sees; state-changing calls repeat the CSRF cookie in a header.

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
}

// A network failure (offline, server unreachable), as opposed to an answer.
export class NetworkError extends Error {}

function csrf() {
  const match = document.cookie.match(/(?:^|;\s*)lindung_csrf=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

export async function call(method, path, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = csrf();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch (err) {
    throw new NetworkError(String(err));
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = { detail: text.slice(0, 200) }; }
  }
  if (!response.ok) {
    if (response.status === 401 && !path.startsWith("/api/session")) {
      window.dispatchEvent(new CustomEvent("lindung:signed-out"));
    }
    throw new ApiError(response.status, data);
  }
  return data;
}

export const api = {
  session: () => call("GET", "/api/session"),
  config: () => call("GET", "/api/config"),
  requestCode: (phone) => call("POST", "/api/v1/auth/otp", { phone }),
  signIn: (request_id, code) => call("POST", "/api/session", { request_id, code }),
  signOut: () => call("DELETE", "/api/session"),
  register: (person) => call("POST", "/api/v1/people", person),
  status: () => call("GET", "/api/v1/people/me/status"),
  records: () => call("GET", "/api/v1/people/me/records"),
  certificates: () => call("GET", "/api/v1/people/me/certificates"),
  setLanguage: async (language) => {
    await call("PATCH", "/api/v1/people/me", { language });
    await call("PUT", "/api/v1/me/preferences", { language });
  },
  checkIn: (qr, client_id) => call("POST", "/api/v1/checkins", { qr, client_id }),
  checkOut: (visitId) => call("POST", `/api/v1/checkins/${visitId}/checkout`),
  batch: (items) => call("POST", "/api/v1/checkins/batch", { items }),
  visits: () => call("GET", "/api/v1/visits?limit=200"),
  notifications: () => call("GET", "/api/v1/notifications?limit=50"),
  markRead: (id) => call("POST", `/api/v1/notifications/${id}/read`),
  registerDevice: (token) => call("POST", "/api/v1/devices", { platform: "web", token }),
};
