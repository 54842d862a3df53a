import { credentialModeOf, type CredentialMode } from '../../core/marathon/credentialMode.js';
import type { DeliveryModes } from '../../delivery/deliveryMode.js';
import { createEndpointMode, type EndpointModeInit } from '../../delivery/endpoint/endpointMode.js';
import { createFileMode } from '../../delivery/file/fileMode.js';

/**
 * The local cluster's delivery modes: `sip.aws.credentials` (else the
 * cluster's default) picks the `delivery/` folder an app's tasks go
 * through. The one place that names the modes; a new mode is a folder and a
 * line here.
 */
export function deliveryModes(init: { defaultMode: CredentialMode; metadataClosed: boolean; endpoint: EndpointModeInit }): DeliveryModes {
  const modes = { file: createFileMode({ metadataClosed: init.metadataClosed }), endpoint: createEndpointMode(init.endpoint) };
  return { defaultMode: init.defaultMode, modeOf: (app) => modes[credentialModeOf(app, init.defaultMode)] };
}
