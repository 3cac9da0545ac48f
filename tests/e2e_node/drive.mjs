// Drives the mock with one official ZITADEL client and reports what that client decoded.
//
//   node drive.mjs <client> <baseUrl>   with a JSON plan on stdin, JSON results on stdout
//
// <client>: "zitadel-node" (@zitadel/node, native gRPC via nice-grpc), "client-web"
// (@zitadel/client/web, gRPC-web) or "client-node" (@zitadel/client/node, native gRPC).
// A plan is a list of calls {rpc, request, token, authorization?, org?}: request uses proto
// field names, token null sends no Authorization header, authorization sends that raw header.
// Each result is {ok: true, details} for a write, {ok: true, read} for a read (see summarize),
// or {ok: false, code, message, errorDetails}; errorDetails is null where a client does not
// expose the status details.
import { readFileSync } from "node:fs";

const [client, baseUrl] = process.argv.slice(2);
const plan = JSON.parse(readFileSync(0, "utf8"));

const lowerFirst = (name) => name[0].toLowerCase() + name.slice(1);
const camel = (name) => name.replace(/_([a-z])/g, (_, c) => c.toUpperCase());
const camelRequest = (request) =>
  Object.fromEntries(Object.entries(request).map(([key, value]) => [camel(key), value]));

function headersFor(call) {
  const headers = {};
  if (call.org) headers["x-zitadel-orgid"] = call.org;
  if (call.authorization !== undefined) headers.authorization = call.authorization;
  return headers;
}

// google.rpc.Status -> [{type, id, message}] of its zitadel.v1.ErrorDetail, read with the wire reader the clients ship.
async function errorDetailsFromStatus(bytes) {
  const { BinaryReader } = await import("@bufbuild/protobuf/wire");
  const readFields = (data, onField) => {
    const reader = new BinaryReader(data);
    while (reader.pos < reader.len) {
      const [number, wireType] = reader.tag();
      onField(number, wireType, reader);
    }
  };
  const details = [];
  readFields(bytes, (number, wireType, reader) => {
    if (number !== 3) return reader.skip(wireType);
    let typeUrl = "";
    let value = new Uint8Array();
    readFields(reader.bytes(), (n, w, r) => {
      if (n === 1) typeUrl = r.string();
      else if (n === 2) value = r.bytes();
      else r.skip(w);
    });
    const detail = { type: typeUrl.slice(typeUrl.lastIndexOf("/") + 1), id: "", message: "" };
    readFields(value, (n, w, r) => {
      if (n === 1) detail.id = r.string();
      else if (n === 2) detail.message = r.string();
      else r.skip(w);
    });
    details.push(detail);
  });
  return details;
}

// What a client decoded from a read: the object of a Get, or the rows of a List. Enums are
// the numbers both generated codes hold; 64-bit integers go out as strings.
function summarize(response, dateOf) {
  const one = (object) => ({
    id: object.id,
    state: Number(object.state),
    sequence: String(object.details.sequence),
    changeDate: dateOf(object.details.changeDate),
    resourceOwner: object.details.resourceOwner,
  });
  if (Array.isArray(response.result)) {
    return {
      totalResult: String(response.details.totalResult),
      result: response.result.map(one),
    };
  }
  const object = response.user ?? response.org ?? response.action ?? response.userGrant;
  return object === undefined ? null : one(object);
}

const isRead = (rpc) => rpc.startsWith("Get") || rpc.startsWith("List");

async function zitadelNode() {
  const { createManagementClient, createAccessTokenInterceptor } = await import(
    "@zitadel/node/dist/api/index.js"
  );
  const { Metadata, ClientError } = await import("nice-grpc");
  const clients = new Map();
  const clientFor = (token) => {
    if (!clients.has(token)) {
      const interceptors = token === null ? [] : [createAccessTokenInterceptor(token)];
      clients.set(token, createManagementClient(baseUrl, ...interceptors));
    }
    return clients.get(token);
  };
  const iso = (date) => (date === undefined ? null : date.toISOString());
  return async (call) => {
    let trailer;
    try {
      const response = await clientFor(call.token)[lowerFirst(call.rpc)](
        camelRequest(call.request),
        { metadata: Metadata(headersFor(call)), onTrailer: (t) => (trailer = t) },
      );
      if (isRead(call.rpc)) return { ok: true, read: summarize(response, iso) };
      const d = response.details;
      // ts-proto decodes Timestamps to Date: millisecond precision, no nanos.
      return {
        ok: true,
        details: {
          sequence: String(d.sequence),
          creationDate: iso(d.creationDate),
          changeDate: iso(d.changeDate),
          resourceOwner: d.resourceOwner,
          nanos: null,
        },
      };
    } catch (error) {
      if (!(error instanceof ClientError)) throw error;
      const raw = trailer?.get("grpc-status-details-bin");
      return {
        ok: false,
        code: error.code,
        message: error.details,
        errorDetails: raw === undefined ? [] : await errorDetailsFromStatus(raw),
      };
    }
  };
}

async function zitadelClient(kind) {
  const { createManagementServiceClient } = await import("@zitadel/client/v1");
  const { ConnectError } = await import("@connectrpc/connect");
  const { ErrorDetailSchema } = await import("@zitadel/proto/zitadel/message_pb.js");
  const { timestampDate } = await import("@bufbuild/protobuf/wkt");
  const { fromBinary } = await import("@bufbuild/protobuf");
  let withToken, withoutToken;
  if (kind === "web") {
    const { createClientTransport } = await import("@zitadel/client/web");
    const { createGrpcWebTransport } = await import("@connectrpc/connect-web");
    withToken = (token) => createClientTransport(token, { baseUrl });
    // The official helper always adds a bearer token; a call without one uses the transport
    // it wraps.
    withoutToken = () => createGrpcWebTransport({ baseUrl });
  } else {
    const { createServerTransport } = await import("@zitadel/client/node");
    const { createGrpcTransport } = await import("@connectrpc/connect-node");
    withToken = (token) => createServerTransport(token, { baseUrl, httpVersion: "2" });
    withoutToken = () => createGrpcTransport({ baseUrl, httpVersion: "2" });
  }
  const clients = new Map();
  const clientFor = (token) => {
    if (!clients.has(token)) {
      const transport = token === null ? withoutToken() : withToken(token);
      clients.set(token, createManagementServiceClient(transport));
    }
    return clients.get(token);
  };
  const stamp = (ts) => (ts === undefined ? null : timestampDate(ts).toISOString());
  return async (call) => {
    try {
      const response = await clientFor(call.token)[lowerFirst(call.rpc)](
        camelRequest(call.request),
        { headers: headersFor(call), timeoutMs: 10000 },
      );
      if (isRead(call.rpc)) return { ok: true, read: summarize(response, stamp) };
      const d = response.details;
      const ts = d.creationDate ?? d.changeDate;
      return {
        ok: true,
        details: {
          sequence: String(d.sequence),
          creationDate: stamp(d.creationDate),
          changeDate: stamp(d.changeDate),
          resourceOwner: d.resourceOwner,
          nanos: ts === undefined ? null : ts.nanos,
        },
      };
    } catch (error) {
      if (!(error instanceof ConnectError)) throw error;
      return {
        ok: false,
        code: error.code,
        message: error.rawMessage,
        errorDetails: error.details.map((detail) => {
          const { id, message } = fromBinary(ErrorDetailSchema, detail.value);
          return { type: detail.type, id, message };
        }),
      };
    }
  };
}

const drivers = {
  "zitadel-node": zitadelNode,
  "client-web": () => zitadelClient("web"),
  "client-node": () => zitadelClient("node"),
};
if (!(client in drivers)) {
  console.error(`unknown client ${client}; one of ${Object.keys(drivers).join(", ")}`);
  process.exit(2);
}
const run = await drivers[client]();
const results = [];
for (const call of plan) results.push(await run(call));
process.stdout.write(JSON.stringify(results));
// nice-grpc keeps its channel open; the results are out, so leave.
process.exit(0);
