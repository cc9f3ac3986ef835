// node ocisdk.js CONFIG PROFILE ENDPOINT
//
// Oracle's JavaScript SDK, as a person's program uses it: oci-common's
// SessionAuthDetailProvider reads the OCI config section (security_token_file,
// key_file, tenancy, region) and oci-identity's IdentityClient calls
// ENDPOINT (the emulator's OCI-like API) with requests the SDK's own signer
// signs. It prints what it got, one line per call, and for each request the
// headers its signature covered, as seen on the way out; on a failure it
// prints the SDK's error on stderr and exits 1. TestScriptsOCIJS runs it.
"use strict";

const common = require("oci-common");
const identity = require("oci-identity");

async function main(args) {
  if (args.length !== 3) {
    throw new Error("usage: node ocisdk.js CONFIG PROFILE ENDPOINT");
  }
  const [config, profile, endpoint] = args;

  // Both of the SDK's paths to the network (with and without its circuit
  // breaker) call the global fetch when they send, so this sees every
  // request as signed.
  const signed = [];
  const send = globalThis.fetch;
  globalThis.fetch = (req, ...rest) => {
    const auth = req.headers.get("authorization") || "";
    const m = /headers="([^"]*)"/.exec(auth);
    signed.push(`${req.method} ${m ? m[1] : "(no signature)"}`);
    return send(req, ...rest);
  };

  const provider = new common.SessionAuthDetailProvider(config, profile);
  // No retries: a refusal is the answer, not something to wait out.
  const client = new identity.IdentityClient(
    { authenticationDetailsProvider: provider },
    { retryConfiguration: common.NoRetryConfigurationDetails },
  );
  client.endpoint = endpoint;
  try {
    console.log(`region ${provider.getRegion().regionId}`);
    const tenancyId = provider.getTenantId();
    const t = await client.getTenancy({ tenancyId });
    console.log(`tenancy ${t.tenancy.id} ${t.tenancy.name}`);
    let page;
    let n = 0;
    let pages = 0;
    do {
      const r = await client.listCompartments({ compartmentId: tenancyId, limit: 3, page });
      n += r.items.length;
      pages++;
      page = r.opcNextPage;
    } while (page);
    console.log(`compartments ${n} in ${pages} pages`);
    const c = await client.createCompartment({
      createCompartmentDetails: { compartmentId: tenancyId, name: "from-the-js-sdk", description: "signed POST" },
    });
    console.log(`created ${c.compartment.name}`);
  } finally {
    client.close();
    for (const s of new Set(signed)) {
      console.log(`signed ${s}`);
    }
  }
}

main(process.argv.slice(2)).catch((e) => {
  const parts = [e.statusCode, e.serviceCode, e.message].filter((p) => p !== undefined && p !== "");
  console.error(`OCI JavaScript SDK: ${parts.length ? parts.join(" ") : String(e)}`);
  process.exitCode = 1;
});
