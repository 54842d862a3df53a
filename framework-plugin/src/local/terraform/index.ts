/**
 * Running the project's Terraform for real (init/apply/output/destroy), offline
 * from a provider mirror when one is present.
 * @packageDocumentation
 */
export { createTerraform, type Terraform, type TerraformInit, type TerraformVars } from './terraform.js';
export { copyModule, isRunState } from './moduleCopy.js';
export { findProviderMirror, mirrorCliConfig, MIRROR_CANDIDATES } from './providerMirror.js';
