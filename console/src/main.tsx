import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { loadConfig } from "./api/config";
import "./styles.css";

const root = createRoot(document.getElementById("root")!);
loadConfig().finally(() =>
  root.render(
    <StrictMode>
      <App />
    </StrictMode>,
  ),
);
