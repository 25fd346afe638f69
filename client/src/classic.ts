// Entry of the classic script (client.js): the globals of the 0.2.0 client, and the progress
// bar module. Everything else hangs on them: TornadoWebSocket.Module,
// TornadoWebSocket.RequestError, ModuleProgressBar.EngineHtml5, ModuleProgressBar.EngineBootstrap.
import { ModuleProgressBar, TornadoWebSocket, tws } from './index';

const root = (typeof globalThis === 'object' ? globalThis : self) as unknown as Record<string, unknown>;
root.TornadoWebSocket = TornadoWebSocket;
root.tws = tws;
root.ModuleProgressBar = ModuleProgressBar;
