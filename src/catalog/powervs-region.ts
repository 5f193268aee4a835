// PowerVS boot images are stored per IBM Cloud Object Storage region, not per PowerVS region.
// Same mapping as HyperShift's getImageRegion in
// hypershift-operator/controllers/nodepool/powervs.go (openshift/hypershift), including its
// fallback to us-south for any region it does not know.

const DEFAULT_COS_REGION = 'us-south';

const COS_REGION_BY_POWERVS_REGION: ReadonlyMap<string, string> = new Map([
  ['dal', 'us-south'],
  ['us-south', 'us-south'],
  ['eu-de', 'eu-de'],
  ['lon', 'eu-gb'],
  ['osa', 'jp-osa'],
  ['syd', 'au-syd'],
  ['sao', 'br-sao'],
  ['tor', 'ca-tor'],
  ['tok', 'jp-tok'],
  ['us-east', 'us-east'],
]);

/** The COS region whose bucket HyperShift takes the PowerVS boot image from. */
export function powerVSImageRegion(region: string | undefined): string {
  return COS_REGION_BY_POWERVS_REGION.get(region ?? '') ?? DEFAULT_COS_REGION;
}
