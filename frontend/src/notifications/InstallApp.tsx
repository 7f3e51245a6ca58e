import { useSyncExternalStore } from "react";

import { canInstall, onInstallChange, promptInstall } from "./pwa";

/** "Install app", while the browser offers to install the wallet (beforeinstallprompt);
 * nothing otherwise (installed already, or a browser that does not offer it). */
export function InstallApp() {
  const installable = useSyncExternalStore(onInstallChange, canInstall);
  if (!installable) return null;
  return (
    <section className="card install-app" aria-labelledby="install-title">
      <h2 id="install-title">Install the app</h2>
      <p className="muted small">Open the wallet from your home screen, full screen, like any other app.</p>
      <button className="small-primary" onClick={() => void promptInstall()}>Install app</button>
    </section>
  );
}
