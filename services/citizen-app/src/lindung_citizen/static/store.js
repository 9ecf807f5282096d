// Scans made with no network, kept in IndexedDB until the offline batch upload answers.
const DB = "lindung";
const SCANS = "scans";

function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => {
      request.result.createObjectStore(SCANS, { keyPath: "client_id" });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function tx(mode, work) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const transaction = db.transaction(SCANS, mode);
      const result = work(transaction.objectStore(SCANS));
      transaction.oncomplete = () => resolve(result.result ?? result);
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error);
    });
  } finally {
    db.close();
  }
}

export function keepScan(scan) {
  return tx("readwrite", (store) => store.put(scan));
}

export async function pendingScans() {
  const all = await tx("readonly", (store) => store.getAll());
  return all.sort((a, b) => a.scanned_at.localeCompare(b.scanned_at));
}

export function forgetScans(ids) {
  return tx("readwrite", (store) => { for (const id of ids) store.delete(id); return {}; });
}
