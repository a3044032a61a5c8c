// The credits feature's calls, one hook each.
import { useInfiniteQuery, useMutation, useQuery } from "@connectrpc/connect-query";
import { BillingService } from "@/gen/neutone/v1/billing_service_pb";

export function useProducts() {
  return useQuery(BillingService.method.listProducts, {}, { staleTime: Infinity });
}

export function useTransactions() {
  return useInfiniteQuery(
    BillingService.method.listTransactions,
    { pageSize: 20, pageToken: "" },
    { pageParamKey: "pageToken", getNextPageParam: (last) => last.nextPageToken || undefined },
  );
}

export function useCheckout() {
  return useMutation(BillingService.method.createCheckoutSession);
}

export function usePortal() {
  return useMutation(BillingService.method.createPortalSession);
}
