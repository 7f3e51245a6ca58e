import { StrictMode } from "react";
import { createRoot } from "react-dom/client";

import { App } from "./App";
import { listenForInstallPrompt, registerServiceWorker } from "./notifications/pwa";
import "./styles.css";

// The install offer comes early: listen before anything renders.
listenForInstallPrompt();
// The service worker (offline shell, push) once the page has loaded, so it does not
// compete with the first render.
if (document.readyState === "complete") void registerServiceWorker();
else window.addEventListener("load", () => void registerServiceWorker(), { once: true });

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
