// The component both examples render: three flags read with useFlag, the module's status, and
// its diagnosis on demand (what a support ticket needs; IDs and the key are redacted).
import { useState } from "react";
import { useFlag, useFlagship } from "flagship-segment/react";

export function Checkout() {
  const color = useFlag("btnColor", "grey");
  const label = useFlag("btnText", "Buy now");
  const newCheckout = useFlag("newCheckout", false);
  const { status, track, diagnose } = useFlagship();
  const [diagnosis, setDiagnosis] = useState(null);
  return (
    <main>
      <h1 id="title">{newCheckout ? "New checkout" : "Checkout"}</h1>
      <button id="buy" data-color={color} style={{ background: color }} onClick={() => track("buy-click")}>
        {label}
      </button>
      <p>
        flagship-segment: <output id="status">{status}</output>{" "}
        <button id="diagnose" onClick={() => setDiagnosis(diagnose())}>Diagnose</button>
      </p>
      {diagnosis && <pre id="diagnosis">{JSON.stringify(diagnosis, null, 2)}</pre>}
    </main>
  );
}
