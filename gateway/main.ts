// Runs the REST gateway alone, in front of a remote core: `npm run gateway`.
// GRPC_TARGET (default 127.0.0.1:50051) is the core; PORT (default 8080) the REST port.
import { logGatewayReplies } from "../server/observability/calls";
import { createLogger } from "../server/observability/logger";
import { createGrpcDispatcher } from "./grpc-dispatcher";
import { openApiRoutes } from "./openapi/routes";
import { createGateway } from "./server";

const target = process.env.GRPC_TARGET ?? "127.0.0.1:50051";
const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? "0.0.0.0";

const dispatcher = createGrpcDispatcher(target);
const server = createGateway({
  dispatcher,
  extraRoutes: [
    {
      method: "GET",
      path: "/healthz",
      handle: (_req, res) => {
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end('{"status":"ok"}');
      },
    },
    ...openApiRoutes(),
  ],
  // The core logs the calls it answers; this process logs only the replies it made itself.
  onReply: logGatewayReplies(createLogger()),
});

server.listen(port, host, () => {
  const address = server.address();
  const bound = typeof address === "object" && address ? address.port : port;
  console.log(JSON.stringify({ msg: "gateway listening", port: bound, grpc_target: target }));
});

const stop = () => {
  server.close(() => {
    dispatcher.close();
    process.exit(0);
  });
  server.closeIdleConnections();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
